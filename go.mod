module presign.dev

go 1.26
