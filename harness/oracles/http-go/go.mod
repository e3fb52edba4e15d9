module tlsmatrix/oracles/http-go

go 1.25
