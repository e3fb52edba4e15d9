//! Compiles Zeebe's gateway protocol (the subset tlsmatrix serves) with a vendored
//! `protoc`, so no system protobuf compiler is needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(&["proto/gateway.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto/gateway.proto");
    Ok(())
}
