package azuresas_test

import (
	"fmt"
	"time"

	"presign.dev/azuresas"
)

func ExampleSigner_Sign() {
	cs, err := azuresas.ParseConnectionString("UseDevelopmentStorage=true")
	if err != nil {
		panic(err)
	}
	signer := azuresas.NewSigner(cs.Account)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	sas, err := signer.Sign(azuresas.Values{
		Container: "photos", Blob: "2026/cat.jpg", Permissions: azuresas.Create,
		Expiry: now.Add(15 * time.Minute),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("PUT", azuresas.BlobURL(cs.BlobEndpoint, "photos", "2026/cat.jpg", sas))
	fmt.Println(azuresas.HeaderBlobType+":", azuresas.BlockBlob)
	// Output:
	// PUT http://127.0.0.1:10000/devstoreaccount1/photos/2026/cat.jpg?se=2026-11-22T10%3A15%3A00Z&sig=KMKontz8oSxH%2BOIrqex1s1Wd1ySJ4qPWDEst8stOxqE%3D&sp=c&sr=b&sv=2026-06-06
	// x-ms-blob-type: BlockBlob
}
