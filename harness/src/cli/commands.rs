//! The commands that are neither a run nor serving: certificates, reports,
//! drift, measurements, live probes, explanations and the catalogue.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tlsmatrix::engine::RunOptions;
use tlsmatrix::error::HarnessError;

use super::args::{ProbeArgs, ProbeFormat, SelectArgs};
use super::run::select_cases;
use super::{interrupted, runtime, until_interrupted};

/// `reproduce REPORT [--emit-scenario FILE]`.
pub(crate) fn reproduce(
    report: &Path,
    emit_scenario: Option<PathBuf>,
) -> Result<ExitCode, HarnessError> {
    let rt = runtime()?;
    tlsmatrix::engine::reap_stale_scratch_dirs();
    let options = RunOptions::from_env();
    let work = tlsmatrix::reproduce::reproduce(report, &options);
    let Some(reproduction) = until_interrupted(&rt, work) else {
        return Ok(interrupted(rt, false, "the reproduction"));
    };
    let reproduction = reproduction?;
    print!("{}", reproduction.render());
    if let Some(out) = emit_scenario {
        if !reproduction.reproduced() {
            return Err(HarnessError::invalid(
                report.display().to_string(),
                "reported-error",
                "the report did not reproduce; refusing to record it as a scenario",
                "check the setup against what the user runs",
            ));
        }
        let yaml = reproduction.scenario_yaml()?;
        tlsmatrix::pki::write_file(&out, yaml.as_bytes(), 0o644)?;
        println!("\nwrote scenario {}", out.display());
    }
    Ok(if reproduction.reproduced() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `drift`: per documented case, the documented and today's texts.
pub(crate) fn drift(mut select: SelectArgs) -> Result<ExitCode, HarnessError> {
    // Every release whose texts differ, unless one is asked for.
    select
        .product_version
        .get_or_insert(tlsmatrix::version::Selection::Changed);
    let cases = select_cases(&select)?;
    let rt = runtime()?;
    let options = RunOptions::from_env();
    let Some(drifts) = until_interrupted(&rt, tlsmatrix::drift::drift(&cases, &options)) else {
        return Ok(interrupted(rt, false, "drift"));
    };
    let drifts = drifts?;
    print!("{}", tlsmatrix::drift::render(&drifts));
    let Some(statements) = until_interrupted(&rt, tlsmatrix::drift::statements(&cases, &options))
    else {
        return Ok(interrupted(rt, false, "drift"));
    };
    let statements = statements?;
    print!("{}", tlsmatrix::drift::render_statements(&statements));
    Ok(
        if drifts.iter().all(tlsmatrix::drift::Drift::holds)
            && statements
                .iter()
                .all(tlsmatrix::drift::StatementDrift::agrees)
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

/// `bench`: the figures of `tlsmatrix::bench`.
pub(crate) fn bench(
    select: &SelectArgs,
    iterations: usize,
    jobs: usize,
) -> Result<ExitCode, HarnessError> {
    let cases = select_cases(select)?;
    let rt = runtime()?;
    let Some(figures) = until_interrupted(&rt, tlsmatrix::bench::bench(cases, iterations, jobs))
    else {
        return Ok(interrupted(rt, false, "the bench"));
    };
    print!("{}", figures?);
    Ok(ExitCode::SUCCESS)
}

/// `explain --corpus DIR`: every text of a corpus, scored.
pub(crate) fn corpus(dir: &Path) -> Result<ExitCode, HarnessError> {
    let corpus = tlsmatrix::corpus::load(dir)?;
    print!(
        "{}",
        tlsmatrix::corpus::render(&tlsmatrix::corpus::score(&corpus))
    );
    Ok(ExitCode::SUCCESS)
}

/// `explain [TEXT] [--area AREA]`.
pub(crate) fn explain(text: Option<&str>, area: Option<&str>) -> Result<ExitCode, HarnessError> {
    let text = match text {
        None | Some("-") => {
            let mut buf = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut buf)
                .map_err(|e| HarnessError::read("standard input", e))?;
            buf
        }
        Some(t) => t.to_string(),
    };
    let explanation = tlsmatrix::explain::explain(&text, area)?;
    print!("{}", explanation.render());
    Ok(if explanation.matches.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `catalogue`: every area's entries, with their releases and fixes.
pub(crate) fn catalogue() -> Result<ExitCode, HarnessError> {
    for area in tlsmatrix::areas::registry() {
        let versions = area.catalogue().versions();
        if !versions.is_empty() {
            let list: Vec<String> = versions.iter().map(|v| v.to_string()).collect();
            println!(
                "{} models releases: {} (default: {})",
                area.name(),
                list.join(", "),
                list.last().map_or("", String::as_str)
            );
        }
        for e in area.catalogue().entries() {
            let span = area.catalogue().span(e.id()).describe();
            println!(
                "{} [{}{}] -> {}",
                e.id(),
                if e.documented() {
                    "documented"
                } else {
                    "observed"
                },
                if span.is_empty() {
                    String::new()
                } else {
                    format!(", {span}")
                },
                e.outcome().id()
            );
            println!("  {}", e.title());
            println!("  fix: {}", e.fix());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `probe ADDRESS`: an area's client attempts against a live endpoint.
pub(crate) fn probe(args: ProbeArgs) -> Result<ExitCode, HarnessError> {
    let mut options = tlsmatrix::live_probe::ProbeOptions::new(args.address, args.area)
        .with_clients(args.client)
        .with_deadline(std::time::Duration::from_secs(args.timeout.max(1)));
    if let Some(ca) = args.ca {
        options = options.with_ca(ca);
    }
    if let Some(cert) = args.cert {
        options = options.with_cert(cert);
    }
    if let Some(key) = args.key {
        options = options.with_key(key);
    }
    if let Some(username) = args.username {
        options = options.with_username(username);
    }
    if let Some(password) = args.password {
        options = options.with_password(password);
    }
    let rt = runtime()?;
    let Some(diagnosis) = until_interrupted(&rt, tlsmatrix::live_probe::probe(&options)) else {
        return Ok(interrupted(rt, false, "the probe"));
    };
    let diagnosis = diagnosis?;
    if args.format == ProbeFormat::Json {
        let json = serde_json::to_string_pretty(&diagnosis)
            .map_err(|e| HarnessError::run("probe report", e))?;
        println!("{json}");
    } else {
        print!("{}", diagnosis.render());
    }
    Ok(if diagnosis.connected() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `certs --out DIR`: the documented set. Everything is first written into a
/// fresh staging directory inside DIR (keys created 0600 with
/// `O_EXCL|O_NOFOLLOW`), then each file is renamed over its name in DIR: an
/// existing file (of any mode, or a symbolic link) is replaced atomically,
/// never written through, and an interrupt leaves no half-written set (the
/// staging directory goes with it, exit 130).
pub(crate) fn certs(out: &Path) -> Result<ExitCode, HarnessError> {
    // The signal listeners first: a signal once the staging directory exists
    // must reach the interrupt path, not kill the process with it left behind.
    let rt = runtime()?;
    std::fs::create_dir_all(out).map_err(|e| HarnessError::write(out, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".tlsmatrix-certs-")
        .tempdir_in(out)
        .map_err(|e| HarnessError::write(out, e))?;
    let dir = staging.path().to_path_buf();
    let work = rt.spawn_blocking(move || -> Result<usize, HarnessError> {
        let pki = tlsmatrix::pki::manual_set().build()?;
        let written = pki.write_to(&dir)?;
        let readme = format!(
            "Certificates written by `tlsmatrix certs` for manual use.\n\
             Every certificate NAME has NAME.pem (the certificate), NAME.key (its private key, mode 0600)\n\
             and, when it has an issuer, NAME-chain.pem (the certificate followed by its issuers).\n\
             Files named *-expired, *-wrong-root, ... are broken on purpose.\n\n{}",
            tlsmatrix::pki::describe(&pki)
        );
        tlsmatrix::pki::write_readme(&dir.join("README.txt"), &readme)?;
        Ok(written.files().len())
    });
    let Some(joined) = until_interrupted(&rt, work) else {
        // The blocking writer ends within the runtime's shutdown; then the
        // staging directory, with whatever it holds, is removed.
        let code = interrupted(rt, false, "certs");
        drop(staging);
        return Ok(code);
    };
    let count = joined.map_err(|e| HarnessError::run("certs", e))??;
    let entries = std::fs::read_dir(staging.path()).map_err(|e| HarnessError::read(out, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| HarnessError::read(out, e))?;
        let target = out.join(entry.file_name());
        std::fs::rename(entry.path(), &target).map_err(|e| HarnessError::write(&target, e))?;
    }
    println!("wrote {count} certificates to {}", out.display());
    Ok(ExitCode::SUCCESS)
}
