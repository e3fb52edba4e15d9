module tlsmatrix/probes/go

go 1.26.8

require github.com/camunda/zeebe/clients/go/v8 v8.4.5 // indirect
