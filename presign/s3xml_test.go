package presign

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// Real answers of the servers of the store tests (versions pinned in
// scripts/install-test-servers.sh), captured during TestS3Store through a
// logging transport, byte for byte.
const (
	// Versity Gateway, CreateMultipartUpload: 200
	vgwCreate = `<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>presign-test-oknafwg7agmz</Bucket><Key>multipart/a b+c ü 日本 (1).bin</Key><UploadId>cf19992c-b83d-4e11-a630-5b6204b845ca</UploadId></InitiateMultipartUploadResult>`
	// Versity Gateway, ListParts of a SHA256 COMPOSITE upload: 200
	vgwListParts = `<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>presign-test-oknafwg7agmz</Bucket><Key>checksum/composite sha256.bin</Key><UploadId>cd0891a1-1f05-45ce-bda7-c9d125d03ec9</UploadId><ChecksumAlgorithm>SHA256</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType><Initiator><ID></ID><DisplayName></DisplayName></Initiator><Owner><ID></ID><DisplayName></DisplayName></Owner><StorageClass>STANDARD</StorageClass><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated><Part><LastModified>2026-12-06T12:12:09Z</LastModified><PartNumber>1</PartNumber><ETag>&#34;c1161651af31aec4dcef39c2f2fded82&#34;</ETag><Size>5242880</Size><ChecksumSHA256>sHj1x/1ZuLr2LwxN1uvHn+SiPxtJkkBqcM6dFZ2TMD8=</ChecksumSHA256></Part><Part><LastModified>2026-12-06T12:12:09Z</LastModified><PartNumber>2</PartNumber><ETag>&#34;00b1e2c0b39452fa708e942aa3426f51&#34;</ETag><Size>100</Size><ChecksumSHA256>tHNECgRDAb2KINh9td2UitzUOC4EP9EuPLiKfnTkPeE=</ChecksumSHA256></Part></ListPartsResult>`
	// Versity Gateway, CompleteMultipartUpload (its default full-object CRC64NVME): 200
	vgwComplete = `<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://127.0.0.1:46145/presign-test-oknafwg7agmz/multipart%2Fa%20b+c%20%C3%BC%20%E6%97%A5%E6%9C%AC%20%281%29.bin</Location><Bucket>presign-test-oknafwg7agmz</Bucket><Key>multipart/a b+c ü 日本 (1).bin</Key><ETag>&#34;cfb14875d66b32e81072a47a4eb6d5ea-2&#34;</ETag><ChecksumCRC64NVME>ai8KOV2FMS8=</ChecksumCRC64NVME><ChecksumType>FULL_OBJECT</ChecksumType></CompleteMultipartUploadResult>`
	// Versity Gateway, CompleteMultipartUpload with If-None-Match on an existing key: 412
	vgwPreconditionFailed = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold.</Message><Condition>If-None-Match</Condition><RequestId>5WT7YXSZX3Y73Y5A</RequestId><HostId>eIotukLTgBfttdv3yXfpHfGXkGACEVQo53XmGej2ikOU1MN+JfnmCT/LSXY6Y9HxVyVOTL4yo7b5/Xjy8GZJzT4=</HostId></Error>`
	// Versity Gateway, CompleteMultipartUpload with a wrong x-amz-mp-object-size: 400
	vgwInvalidRequest = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>InvalidRequest</Code><Message>The provided &#39;x-amz-mp-object-size&#39; header value 12 does not match what was computed: 13</Message><RequestId>H7ZEGDA2LH12GKIP</RequestId><HostId>xaX4i9lD5C/Vx7wEPMn5pV4eXKEI5I6Y3W18+x+nDYn4a8tN5pUB9woWefl9uhfZyGJZ51gWr6f+CJzP8f3s4c4=</HostId></Error>`
	// Versity Gateway, ListParts after AbortMultipartUpload: 404
	vgwNoSuchUpload = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchUpload</Code><Message>The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.</Message><UploadId>9747adce-34e5-4e15-85cb-36a768f1cf4f</UploadId><RequestId>KTWJ28YHCHOFG6KA</RequestId><HostId>lxqxVV9fLVqpwD615LhqJEEtaCGQIdZJCoHjtBJFk08mu5u1AY3+LnxHFR+IF1MvjVLsLQKHbSCp3/v0euK4t7k=</HostId></Error>`
	// MinIO, CreateMultipartUpload: 200
	minioCreate = `<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>presign-test-icnsamu3rerz</Bucket><Key>multipart/a b+c ü 日本 (1).bin</Key><UploadId>MzdkOTQ5NDktZDMzZi00MDQ2LWFjNWEtYmQxNjdkZWEwZWFiLjEzMTUzYWFhLWE2ZjQtNDgzOC05MzU0LThmYzZiYzY0NzRjZXgxNzk2NTU5MTMwNjkxODQxMDQ2</UploadId></InitiateMultipartUploadResult>`
	// MinIO, ListParts of a SHA256 COMPOSITE upload: 200
	minioListParts = `<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>presign-test-icnsamu3rerz</Bucket><Key>checksum/composite sha256.bin</Key><UploadId>MzdkOTQ5NDktZDMzZi00MDQ2LWFjNWEtYmQxNjdkZWEwZWFiLjc3MTBkY2ExLTk5NWEtNDQxNy1iYTMxLTQ3NjBkOWZlMzY1MngxNzk2NTU5MTMwNzk2MTQ3MjQz</UploadId><Initiator><ID>02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4</ID><DisplayName>02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4</DisplayName></Initiator><Owner><ID>02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4</ID><DisplayName>02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4</DisplayName></Owner><StorageClass>STANDARD</StorageClass><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>0</NextPartNumberMarker><MaxParts>10000</MaxParts><IsTruncated>false</IsTruncated><ChecksumAlgorithm>SHA256</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType><Part><PartNumber>1</PartNumber><LastModified>2026-12-06T12:12:10.987Z</LastModified><ETag>&#34;a1d5b7bf265eadaddd74e98b5157ffb3&#34;</ETag><Size>5242880</Size><ChecksumSHA256>g8ST4ZTae5xew7CSnJZI03rvrM9X0k/d+RizqnjGJtg=</ChecksumSHA256></Part><Part><PartNumber>2</PartNumber><LastModified>2026-12-06T12:12:10.997Z</LastModified><ETag>&#34;4c018db3e9455b977f961a8b68d18244&#34;</ETag><Size>100</Size><ChecksumSHA256>tFRRmffF3WVHuJ/0/RgvLLa79Vpw9GxAomzD3hoGsRo=</ChecksumSHA256></Part></ListPartsResult>`
	// MinIO, CompleteMultipartUpload of a SHA256 COMPOSITE upload: 200
	minioComplete = `<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://127.0.0.1:35487/presign-test-icnsamu3rerz/checksum/composite%20sha256.bin</Location><Bucket>presign-test-icnsamu3rerz</Bucket><Key>checksum/composite sha256.bin</Key><ETag>&#34;83a77aa3a6cedef6bfcc5a76a1b74d55-2&#34;</ETag><ChecksumSHA256>ma3foPLWHVvB8yZF4W3Jvs82PvsRNECklWNy8nswJ/Q=-2</ChecksumSHA256></CompleteMultipartUploadResult>`
	// MinIO, CompleteMultipartUpload with If-None-Match on an existing key: 412
	minioPreconditionFailed = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Key>multipart/a b+c ü 日本 (1).bin</Key><BucketName>presign-test-icnsamu3rerz</BucketName><Resource>/presign-test-icnsamu3rerz/multipart/a b+c ü 日本 (1).bin</Resource><Region>us-east-1</Region><RequestId>18EEA902C79E91C2</RequestId><HostId>1c2320b2760778e33b6f6c41e1e16f40ff4778de53fd1091817d2205c3fac74c</HostId></Error>`
	// presign's CompleteMultipartUpload body as sent to Versity Gateway (written by encoding/xml, before this reader)
	vgwCompleteRequest = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&#34;1ccff7b0d0c08473fbd119831d77828b&#34;</ETag><PartNumber>1</PartNumber></Part><Part><ETag>&#34;9a3f33a14ec484015eefbe38d9c01788&#34;</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>`
	// presign's CompleteMultipartUpload body with checksums as sent to MinIO (written by encoding/xml)
	minioCompleteRequest = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ChecksumSHA256>g8ST4ZTae5xew7CSnJZI03rvrM9X0k/d+RizqnjGJtg=</ChecksumSHA256><ETag>&#34;a1d5b7bf265eadaddd74e98b5157ffb3&#34;</ETag><PartNumber>1</PartNumber></Part><Part><ChecksumSHA256>tFRRmffF3WVHuJ/0/RgvLLa79Vpw9GxAomzD3hoGsRo=</ChecksumSHA256><ETag>&#34;4c018db3e9455b977f961a8b68d18244&#34;</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>`
)

// xmlCmp lets cmp see the embedded xmlChecksums.
var xmlCmp = cmp.AllowUnexported(listedPart{}, completeResult{})

// s3RefListParts is the ListParts page of the S3 API reference's example,
// as TestS3StoreListPartsPagination's fake store sends it.
func s3RefListParts() string {
	var b strings.Builder
	listPartsPage(&b, 0, 2, true, 1, 2)
	return b.String()
}

func TestReadInitiateResult(t *testing.T) {
	tests := []struct {
		name, doc string
		want      string
	}{
		{"Versity Gateway", vgwCreate, "cf19992c-b83d-4e11-a630-5b6204b845ca"},
		{"MinIO", minioCreate, "MzdkOTQ5NDktZDMzZi00MDQ2LWFjNWEtYmQxNjdkZWEwZWFiLjEzMTUzYWFhLWE2ZjQtNDgzOC05MzU0LThmYzZiYzY0NzRjZXgxNzk2NTU5MTMwNjkxODQxMDQ2"},
		{"prefixed names", `<?xml version="1.0"?><s3:InitiateMultipartUploadResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Bucket>b</s3:Bucket><s3:UploadId>u1</s3:UploadId></s3:InitiateMultipartUploadResult>`, "u1"},
		{"entities, references and CDATA", `<R><UploadId>a&amp;b&lt;&gt;&apos;&quot;<![CDATA[<c&amp;d>]]>&#x41;&#66;&#x65E5;</UploadId></R>`, `a&b<>'"<c&amp;d>AB日`},
		{"comments and processing instructions in the text", `<R><UploadId>a<!-- x -->b<?pi x?>c</UploadId></R>`, "abc"},
		{"a child's text is not the element's", `<R><UploadId>a<X>no</X>b</UploadId></R>`, "ab"},
		{"deeper elements of the name are not the field", `<R><X><UploadId>no</UploadId></X></R>`, ""},
		{"given twice, the last", `<R><UploadId>1</UploadId><UploadId>2</UploadId></R>`, "2"},
		{"self-closing", `<R><UploadId>1</UploadId><UploadId/></R>`, ""},
		{"self-closing root", `<R/>`, ""},
		{"attributes anywhere", `<R a="1" b='&quot;2&quot;'  c = "--> ]]>"><UploadId x="y"	z='w'>u</UploadId ></R >`, "u"},
		{"line ends", "<R><UploadId>a\r\nb\rc&#13;d\n<![CDATA[e\r\nf]]></UploadId></R>", "a\nb\nc\rd\ne\nf"},
		{"byte order mark, white space, comments, instructions", "\uFEFF \r\n<!-- c -->\n<?xml-stylesheet href='x'?>\n<R><UploadId>u</UploadId></R>\n<!-- after -->\n<?pi?>\n", "u"},
		{"names are case-sensitive", `<R><uploadid>x</uploadid></R>`, ""},
		{"white space kept", "<R><UploadId> u\t</UploadId></R>", " u\t"},
		{"names with . - _ and digits", `<R><a.b-c_d9>x</a.b-c_d9><UploadId>u</UploadId></R>`, "u"},
		{"non-ASCII names", `<Résultat><Clé>x</Clé><UploadId>日本</UploadId></Résultat>`, "日本"},
		{"the root's name is not checked here", `<Other><UploadId>u</UploadId></Other>`, "u"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r initiateResult
			if err := r.read([]byte(tt.doc)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(initiateResult{UploadID: tt.want}, r); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadListParts(t *testing.T) {
	sums := func(sha256 string) xmlChecksums { return xmlChecksums{ChecksumSHA256: sha256} }
	tests := []struct {
		name, doc string
		want      listPartsResult
	}{
		{"Versity Gateway", vgwListParts, listPartsResult{NextPartNumberMarker: 2, Parts: []listedPart{
			{PartNumber: 1, Size: 5242880, ETag: `"c1161651af31aec4dcef39c2f2fded82"`, LastModified: "2026-12-06T12:12:09Z", xmlChecksums: sums("sHj1x/1ZuLr2LwxN1uvHn+SiPxtJkkBqcM6dFZ2TMD8=")},
			{PartNumber: 2, Size: 100, ETag: `"00b1e2c0b39452fa708e942aa3426f51"`, LastModified: "2026-12-06T12:12:09Z", xmlChecksums: sums("tHNECgRDAb2KINh9td2UitzUOC4EP9EuPLiKfnTkPeE=")},
		}}},
		{"MinIO", minioListParts, listPartsResult{Parts: []listedPart{
			{PartNumber: 1, Size: 5242880, ETag: `"a1d5b7bf265eadaddd74e98b5157ffb3"`, LastModified: "2026-12-06T12:12:10.987Z", xmlChecksums: sums("g8ST4ZTae5xew7CSnJZI03rvrM9X0k/d+RizqnjGJtg=")},
			{PartNumber: 2, Size: 100, ETag: `"4c018db3e9455b977f961a8b68d18244"`, LastModified: "2026-12-06T12:12:10.997Z", xmlChecksums: sums("tFRRmffF3WVHuJ/0/RgvLLa79Vpw9GxAomzD3hoGsRo=")},
		}}},
		{"the S3 API reference's example", s3RefListParts(), listPartsResult{IsTruncated: true, NextPartNumberMarker: 2, Parts: []listedPart{
			{PartNumber: 1, Size: 1000, ETag: `"7778aef83f66abc1fa1e8477f296d391"`, LastModified: "2010-11-10T20:48:31.000Z"},
			{PartNumber: 2, Size: 2000, ETag: `"7778aef83f66abc1fa1e8477f296d392"`, LastModified: "2010-11-10T20:48:32.000Z"},
		}}},
		{"no parts", `<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>`, listPartsResult{}},
		{"empty parts", `<ListPartsResult><Part/><Part></Part></ListPartsResult>`, listPartsResult{Parts: []listedPart{{}, {}}}},
		{"parts and fields elsewhere are not the page's",
			`<L><Owner><ETag>x</ETag><IsTruncated>true</IsTruncated><Part><PartNumber>9</PartNumber></Part></Owner>` +
				`<Part><PartNumber>1</PartNumber><Owner><PartNumber>7</PartNumber></Owner><Part><PartNumber>8</PartNumber></Part></Part></L>`,
			listPartsResult{Parts: []listedPart{{PartNumber: 1}}}},
		{"numbers and booleans trimmed", "<L><NextPartNumberMarker> 7 </NextPartNumberMarker><IsTruncated>\n1\n</IsTruncated>" +
			"<Part><PartNumber>\r\n3\r\n</PartNumber><Size>+5</Size></Part></L>",
			listPartsResult{IsTruncated: true, NextPartNumberMarker: 7, Parts: []listedPart{{PartNumber: 3, Size: 5}}}},
		{"empty numbers are 0", `<L><NextPartNumberMarker/><IsTruncated></IsTruncated><Part><Size></Size><PartNumber><![CDATA[]]></PartNumber></Part></L>`,
			listPartsResult{Parts: []listedPart{{}}}},
		{"every checksum; other Checksum elements ignored",
			`<L><Part><ChecksumCRC32>a</ChecksumCRC32><ChecksumCRC32C>b</ChecksumCRC32C><ChecksumCRC64NVME>c</ChecksumCRC64NVME>` +
				`<ChecksumSHA1>d</ChecksumSHA1><ChecksumSHA256>e</ChecksumSHA256><ChecksumType>FULL_OBJECT</ChecksumType><ChecksumMD5>f</ChecksumMD5><Checksum>g</Checksum></Part></L>`,
			listPartsResult{Parts: []listedPart{{xmlChecksums: xmlChecksums{"a", "b", "c", "d", "e"}}}}},
		{"a field given twice, the last; an empty one too", `<L><Part><ETag>1</ETag><ETag>2</ETag><Size>4</Size><Size/></Part></L>`,
			listPartsResult{Parts: []listedPart{{ETag: "2"}}}},
		{"ETag as &quot;", `<L><Part><ETag>&quot;abc&quot;</ETag></Part></L>`, listPartsResult{Parts: []listedPart{{ETag: `"abc"`}}}},
		{"ETag as &#34; and &#x22;", `<L><Part><ETag>&#34;abc&#x22;</ETag></Part></L>`, listPartsResult{Parts: []listedPart{{ETag: `"abc"`}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r listPartsResult
			if err := r.read([]byte(tt.doc)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r, xmlCmp); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadListPartsRefuses(t *testing.T) {
	for _, doc := range []string{
		`<L><Part><Size>x</Size></Part></L>`,
		`<L><Part><Size>99999999999999999999</Size></Part></L>`,
		`<L><Part><PartNumber>1.0</PartNumber></Part></L>`,
		`<L><Part><PartNumber> </PartNumber></Part></L>`, // not empty: trimmed, then no number
		`<L><NextPartNumberMarker>0x10</NextPartNumberMarker></L>`,
		`<L><IsTruncated>yes</IsTruncated></L>`,
		`<L><Part><Size>1</Size>`, // unclosed
	} {
		var r listPartsResult
		if err := r.read([]byte(doc)); err == nil {
			t.Errorf("%s: accepted as %+v", doc, r)
		} else {
			t.Logf("%s: %v", doc, err)
		}
	}
}

func TestReadCompleteResult(t *testing.T) {
	tests := []struct {
		name, doc string
		want      completeResult
	}{
		{"Versity Gateway", vgwComplete, completeResult{ETag: `"cfb14875d66b32e81072a47a4eb6d5ea-2"`, xmlChecksums: xmlChecksums{ChecksumCRC64NVME: "ai8KOV2FMS8="}}},
		{"MinIO", minioComplete, completeResult{ETag: `"83a77aa3a6cedef6bfcc5a76a1b74d55-2"`, xmlChecksums: xmlChecksums{ChecksumSHA256: "ma3foPLWHVvB8yZF4W3Jvs82PvsRNECklWNy8nswJ/Q=-2"}}},
		{"S3's white space first", "\n \n \n" + `<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Location>http://x/bucket/k</Location>
  <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
  <ChecksumCRC32>AAAAAA==</ChecksumCRC32>
  <ChecksumType>COMPOSITE</ChecksumType>
</CompleteMultipartUploadResult>
`, completeResult{ETag: `"3858f62230ac3c915f300c664312c11f-9"`, xmlChecksums: xmlChecksums{ChecksumCRC32: "AAAAAA=="}}},
		{"no ETag", `<CompleteMultipartUploadResult><Location><ETag>x</ETag></Location></CompleteMultipartUploadResult>`, completeResult{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r completeResult
			if err := r.read([]byte(tt.doc)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r, xmlCmp); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadErrorBody(t *testing.T) {
	tests := []struct {
		name, doc string
		want      errorBody
		refused   bool
	}{
		{"Versity Gateway 412", vgwPreconditionFailed, errorBody{Code: "PreconditionFailed",
			Message: "At least one of the pre-conditions you specified did not hold.", RequestID: "5WT7YXSZX3Y73Y5A"}, false},
		{"Versity Gateway 400, with &#39;", vgwInvalidRequest, errorBody{Code: "InvalidRequest",
			Message: "The provided 'x-amz-mp-object-size' header value 12 does not match what was computed: 13", RequestID: "H7ZEGDA2LH12GKIP"}, false},
		{"Versity Gateway 404", vgwNoSuchUpload, errorBody{Code: "NoSuchUpload",
			Message: "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", RequestID: "KTWJ28YHCHOFG6KA"}, false},
		{"MinIO 412", minioPreconditionFailed, errorBody{Code: "PreconditionFailed",
			Message: "At least one of the pre-conditions you specified did not hold", RequestID: "18EEA902C79E91C2"}, false},
		{"prefixed", `<s3:Error xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Code>C</s3:Code><s3:Message>M</s3:Message></s3:Error>`,
			errorBody{Code: "C", Message: "M"}, false},
		{"another root", `<Other><Code>C</Code></Other>`, errorBody{}, true},
		{"a proxy's page", "<html>\n<body>bad gateway</body></html>", errorBody{}, true},
		{"cut short", vgwPreconditionFailed[:200], errorBody{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r errorBody
			err := r.read([]byte(tt.doc))
			if tt.refused {
				if err == nil {
					t.Fatalf("accepted as %+v", r)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRootElement(t *testing.T) {
	tests := []struct{ doc, want string }{
		{vgwCreate, "InitiateMultipartUploadResult"},
		{minioListParts, "ListPartsResult"},
		{vgwComplete, "CompleteMultipartUploadResult"},
		{"\n \n \n" + minioPreconditionFailed, "Error"},
		{`<s3:Error xmlns:s3="x">`, "Error"},    // only the start tag is read
		{"<Error>\x00</Wrong>", "Error"},        // idem
		{"<!-- c --><?pi?>\n<Error/>", "Error"}, //
		{"\uFEFF<Error/>", "Error"},             // byte order mark
		{"", ""},                                //
		{" \n\t", ""},                           //
		{"not XML", ""},                         //
		{"text <Error/>", ""},                   //
		{"<!DOCTYPE html><html>", ""},           //
		{"<Error", ""},                          // unclosed start tag
		{"<Error a>", ""},                       // attribute without value
		{"<!-- unclosed <Error/>", ""},          //
		{"\x01<Error/>", ""},                    // a character XML does not allow
		{"<Err\xffor/>", ""},                    // invalid UTF-8
		{"<Error a='\x01'/>", ""},               //
	}
	for _, tt := range tests {
		if got := rootElement([]byte(tt.doc)); got != tt.want {
			t.Errorf("rootElement(%q) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

// xmlRefused are documents not well-formed, or with a DOCTYPE: scanXML
// refuses each.
var xmlRefused = []struct{ name, doc string }{
	{"empty", ""},
	{"white space", " \n"},
	{"mismatched end tag", "<R><A></B></R>"},
	{"mismatched prefix", "<a:R></b:R>"},
	{"end tag of the parent", "<R><A></R>"},
	{"unclosed root", "<R><A></A>"},
	{"unclosed child", "<R><A>"},
	{"stray end tag", "<R></A></R>"},
	{"end tag alone", "</R>"},
	{"end tag with attributes", `<R></R a="1">`},
	{"unclosed end tag", "<R></R"},
	{"space before an end tag's name", "<R></ R>"},
	{"unknown entity", "<R>&nbsp;</R>"},
	{"entity without ;", "<R>&amp</R>"},
	{"bare &", "<R>a & b</R>"},
	{"entity case", "<R>&AMP;</R>"},
	{"empty reference", "<R>&#;</R>"},
	{"empty hex reference", "<R>&#x;</R>"},
	{"reference with X", "<R>&#X41;</R>"},
	{"reference with a sign", "<R>&#+65;</R>"},
	{"reference to NUL", "<R>&#0;</R>"},
	{"reference to a control character", "<R>&#x1;</R>"},
	{"reference to a surrogate", "<R>&#xD800;</R>"},
	{"reference to U+FFFE", "<R>&#xFFFE;</R>"},
	{"reference beyond Unicode", "<R>&#x110000;</R>"},
	{"reference too large", "<R>&#99999999999999999999;</R>"},
	{"text before the root", "x<R/>"},
	{"text after the root", "<R/>x"},
	{"CDATA before the root", "<![CDATA[x]]><R/>"},
	{"a second root", "<R/><R/>"},
	{"DOCTYPE", "<!DOCTYPE R><R/>"},
	{"DOCTYPE with an entity", `<!DOCTYPE R [<!ENTITY e "x">]><R>&e;</R>`},
	{"declaration inside", "<R><!ELEMENT R ANY></R>"},
	{"unclosed comment", "<R><!-- x</R>"},
	{"-- in a comment", "<R><!-- a -- b --></R>"},
	{"comment ending --->", "<R><!-- a ---></R>"},
	{"<!- not a comment", "<R><!- x --></R>"},
	{"unclosed CDATA", "<R><![CDATA[x</R>"},
	{"CDATA spelled wrong", "<R><![cdata[x]]></R>"},
	{"]]> in text", "<R>a]]>b</R>"},
	{"unclosed processing instruction", "<?xml version='1.0'<R/>"},
	{"processing instruction without a target", "<? x?><R/>"},
	{"attribute without a value", "<R a></R>"},
	{"attribute without =", `<R a "1"></R>`},
	{"unquoted attribute", "<R a=1></R>"},
	{"unclosed attribute value", `<R a="1></R>`},
	{"< in an attribute value", `<R a="<"></R>`},
	{"unknown entity in an attribute value", `<R a="&x;"></R>`},
	{"attributes without space between", `<R a="1"b="2"></R>`},
	{"/ >", "<R/ >"},
	{"space before a name", "< R/>"},
	{"name starting with a digit", "<1R/>"},
	{"name starting with -", "<-R/>"},
	{"two colons", "<a:b:c/>"},
	{"leading colon", "<:R/>"},
	{"trailing colon", "<R:/>"},
	{"attribute name with two colons", `<R a:b:c="1"/>`},
	{"invalid UTF-8", "<R>\xff</R>"},
	{"invalid UTF-8 in a comment", "<R><!-- \xc3 --></R>"},
	{"NUL", "<R>\x00</R>"},
	{"control character", "<R>\x1b</R>"},
	{"U+FFFF", "<R>\uffff</R>"},
	{"lone <", "<R>a < b</R>"},
	{"unclosed start tag", "<R><A"},
	{"nested too deep", strings.Repeat("<a>", maxXMLDepth+1) + strings.Repeat("</a>", maxXMLDepth+1)},
	{"UTF-16", "\xff\xfe<\x00R\x00/\x00>\x00"},
	{"byte order mark in the middle", "<R/>\uFEFF"},
}

func TestScanXMLRefuses(t *testing.T) {
	for _, tt := range xmlRefused {
		_, err := scanXML([]byte(tt.doc), func(*xmlElement) error { return nil })
		if err == nil {
			t.Errorf("%s: %q accepted", tt.name, tt.doc)
			continue
		}
		t.Logf("%s: %v", tt.name, err)
		// encoding/xml, which reads only the root element, refuses most of
		// them too: see FuzzS3XMLRead.
	}
	// Nested as deep as allowed is fine.
	deep := strings.Repeat("<a>", maxXMLDepth) + strings.Repeat("</a>", maxXMLDepth)
	if _, err := scanXML([]byte(deep), func(*xmlElement) error { return nil }); err != nil {
		t.Errorf("%d deep: %v", maxXMLDepth, err)
	}
}

// The callback's error stops the scan and is returned.
func TestScanXMLEndError(t *testing.T) {
	stop := errors.New("stop")
	var seen []string
	root, err := scanXML([]byte("<R><A/><B/></R>"), func(e *xmlElement) error {
		seen = append(seen, fmt.Sprintf("%d %s<%s", e.depth, e.name, e.parent))
		return stop
	})
	if root != "R" || err != stop || !cmp.Equal(seen, []string{"1 A<R"}) {
		t.Errorf("root %q, err %v, seen %q", root, err, seen)
	}
}

// Large and hostile documents take time in proportion to their size (a
// quadratic scan of these would run for hours).
func TestScanXMLLargeInputs(t *testing.T) {
	const n = 1 << 20
	docs := map[string]string{
		"many elements":        "<R>" + strings.Repeat("<a>x</a>", n/8) + "</R>",
		"many self-closing":    "<R>" + strings.Repeat("<a/>", n/4) + "</R>",
		"many attributes":      "<R" + strings.Repeat(` a="&amp;"`, n/10) + "/>",
		"many references":      "<R>" + strings.Repeat("&#x22;", n/6) + "</R>",
		"many comments":        "<R>" + strings.Repeat("<!---->", n/7) + "</R>",
		"many CDATA":           "<R>" + strings.Repeat("<![CDATA[]]>", n/12) + "</R>",
		"many ]]":              "<R>" + strings.Repeat("]]", n/2) + "</R>",
		"many &":               "<R>" + strings.Repeat("&", n),
		"many &x":              "<R>" + strings.Repeat("&x", n/2) + ";</R>",
		"many <![CDATA[":       "<R>" + strings.Repeat("<![CDATA[", n/9),
		"many <!--":            "<R>" + strings.Repeat("<!--", n/4),
		"many <?":              strings.Repeat("<?a", n/3),
		"deep":                 strings.Repeat("<a>", n/3),
		"many quotes":          "<R a=" + strings.Repeat(`"`, n),
		"many CRs":             "<R>" + strings.Repeat("\r", n) + "</R>",
		"many white spaces":    strings.Repeat(" ", n) + "<R" + strings.Repeat(" ", n) + "/>" + strings.Repeat(" ", n),
		"many start tags open": "<R>" + strings.Repeat("<a ", n/3),
	}
	start := time.Now()
	for name, doc := range docs {
		_, err := scanXML([]byte(doc), func(*xmlElement) error { return nil })
		t.Logf("%s (%d bytes): %v", name, len(doc), err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("%d documents of about 1 MiB took %v", len(docs), d)
	}
}

func TestAppendCompleteRequest(t *testing.T) {
	tests := []struct {
		name  string
		parts []completePart
		want  string
	}{
		{"no parts", nil, `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></CompleteMultipartUpload>`},
		{"as sent to Versity Gateway", []completePart{
			{ETag: `"1ccff7b0d0c08473fbd119831d77828b"`, PartNumber: 1},
			{ETag: `"9a3f33a14ec484015eefbe38d9c01788"`, PartNumber: 2},
		}, vgwCompleteRequest},
		{"as sent to MinIO, with checksums", []completePart{
			{ETag: `"a1d5b7bf265eadaddd74e98b5157ffb3"`, PartNumber: 1, xmlChecksums: xmlChecksums{ChecksumSHA256: "g8ST4ZTae5xew7CSnJZI03rvrM9X0k/d+RizqnjGJtg="}},
			{ETag: `"4c018db3e9455b977f961a8b68d18244"`, PartNumber: 2, xmlChecksums: xmlChecksums{ChecksumSHA256: "tFRRmffF3WVHuJ/0/RgvLLa79Vpw9GxAomzD3hoGsRo="}},
		}, minioCompleteRequest},
		{"every checksum, in order", []completePart{{ETag: "e", PartNumber: 10000, xmlChecksums: xmlChecksums{"a", "b", "c", "d", "e"}}},
			`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ChecksumCRC32>a</ChecksumCRC32><ChecksumCRC32C>b</ChecksumCRC32C>` +
				`<ChecksumCRC64NVME>c</ChecksumCRC64NVME><ChecksumSHA1>d</ChecksumSHA1><ChecksumSHA256>e</ChecksumSHA256><ETag>e</ETag><PartNumber>10000</PartNumber></Part></CompleteMultipartUpload>`},
		{"escaped", []completePart{{ETag: "&<>\"'\t\n\r日\xff\x01]]>", PartNumber: -1}},
			`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&amp;&lt;&gt;&#34;&#39;&#x9;&#xA;&#xD;日` +
				"\uFFFD\uFFFD]]&gt;</ETag><PartNumber>-1</PartNumber></Part></CompleteMultipartUpload>"},
		{"empty ETag", []completePart{{}}, `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag></ETag><PartNumber>0</PartNumber></Part></CompleteMultipartUpload>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendCompleteRequest(nil, tt.parts)
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			std, err := xml.Marshal(stdRequestOf(tt.parts))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(std), string(got)); diff != "" {
				t.Errorf("not as encoding/xml writes it (-encoding/xml +got):\n%s", diff)
			}
		})
	}
}

// encoding/xml's view of the documents, as the store declared them before
// it read and wrote them by hand.

type stdInitiate struct {
	UploadID string `xml:"UploadId"`
}

type stdPart struct { // as listedPart, convertible to it
	PartNumber   int
	Size         int64
	ETag         string
	LastModified string
	xmlChecksums
}

type stdListParts struct {
	IsTruncated          bool
	NextPartNumberMarker int
	Parts                []stdPart `xml:"Part"`
}

func (l stdListParts) result() listPartsResult {
	r := listPartsResult{IsTruncated: l.IsTruncated, NextPartNumberMarker: l.NextPartNumberMarker}
	for _, p := range l.Parts {
		r.Parts = append(r.Parts, listedPart(p))
	}
	return r
}

type stdComplete struct { // as completeResult, convertible to it
	ETag string
	xmlChecksums
}

type stdError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	RequestID string `xml:"RequestId"`
}

type stdChecksums struct {
	ChecksumCRC32     string `xml:",omitempty"`
	ChecksumCRC32C    string `xml:",omitempty"`
	ChecksumCRC64NVME string `xml:",omitempty"`
	ChecksumSHA1      string `xml:",omitempty"`
	ChecksumSHA256    string `xml:",omitempty"`
}

type stdRequest struct {
	XMLName xml.Name         `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUpload"`
	Parts   []stdRequestPart `xml:"Part"`
}

type stdRequestPart struct {
	stdChecksums
	ETag       string
	PartNumber int
}

func stdRequestOf(parts []completePart) *stdRequest {
	r := &stdRequest{}
	for _, p := range parts {
		r.Parts = append(r.Parts, stdRequestPart{stdChecksums: stdChecksums(p.xmlChecksums), ETag: p.ETag, PartNumber: p.PartNumber})
	}
	return r
}

// stdRootElement is rootElement as it was, with encoding/xml, and the error
// that stopped it.
func stdRootElement(doc []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.RawToken()
		if err != nil {
			return "", err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local, nil
		}
	}
}

// laxerThanEncodingXML reports whether encoding/xml's error err is about
// what the store's reader does not check: an XML declaration's version or
// encoding, or a name's non-ASCII characters (encoding/xml checks them
// against XML 1.0's tables; the store's reader takes any).
func laxerThanEncodingXML(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	if _, name, ok := strings.Cut(msg, "invalid XML name: "); ok {
		return strings.ContainsFunc(name, func(r rune) bool { return r >= utf8.RuneSelf })
	}
	return strings.Contains(msg, "unsupported version") || strings.Contains(msg, "CharsetReader is nil")
}

// checkAgainstEncodingXML reads doc as each of the four answers, with the
// store's reader and with encoding/xml: what the store's reader accepts,
// encoding/xml accepts too (but for laxerThanEncodingXML), and reads the
// same. The store's reader may refuse more: what follows the root element
// (encoding/xml stops at its end), text before it, a DOCTYPE, invalid
// characters anywhere, references to characters XML does not allow.
func checkAgainstEncodingXML(t *testing.T, doc []byte) {
	t.Helper()
	check := func(what string, err, stdErr error, got, std any) {
		t.Helper()
		switch {
		case err != nil:
		case stdErr != nil:
			if !laxerThanEncodingXML(stdErr) {
				t.Fatalf("%s: accepted %q, which encoding/xml refuses: %v", what, doc, stdErr)
			}
		default:
			if diff := cmp.Diff(std, got, xmlCmp); diff != "" {
				t.Fatalf("%s of %q (-encoding/xml +got):\n%s", what, doc, diff)
			}
		}
	}

	root, scanErr := scanXML(doc, func(*xmlElement) error { return nil })
	first := rootElement(doc)
	if scanErr == nil && first != root {
		t.Fatalf("%q: rootElement %q, scanXML's root %q", doc, first, root)
	}
	if first != "" {
		std, err := stdRootElement(doc)
		if std != first && !laxerThanEncodingXML(err) {
			t.Fatalf("rootElement(%q) = %q; encoding/xml: %q, %v", doc, first, std, err)
		}
	}

	var ini initiateResult
	var stdIni stdInitiate
	err, stdErr := ini.read(doc), xml.Unmarshal(doc, &stdIni)
	check("InitiateMultipartUploadResult", err, stdErr, ini, initiateResult(stdIni))
	if (err == nil) != (scanErr == nil) {
		t.Fatalf("%q: scanXML: %v; reading InitiateMultipartUploadResult: %v", doc, scanErr, err)
	}

	var lp listPartsResult
	var stdLP stdListParts
	err, stdErr = lp.read(doc), xml.Unmarshal(doc, &stdLP)
	check("ListPartsResult", err, stdErr, lp, stdLP.result())

	var c completeResult
	var stdC stdComplete
	err, stdErr = c.read(doc), xml.Unmarshal(doc, &stdC)
	check("CompleteMultipartUploadResult", err, stdErr, c, completeResult(stdC))

	var e errorBody
	var stdE stdError
	err, stdErr = e.read(doc), xml.Unmarshal(doc, &stdE)
	check("Error", err, stdErr, e, errorBody{Code: stdE.Code, Message: stdE.Message, RequestID: stdE.RequestID})
}

// FuzzS3XMLRead compares the store's reader with encoding/xml on any
// bytes (checkAgainstEncodingXML).
func FuzzS3XMLRead(f *testing.F) {
	for _, doc := range []string{vgwCreate, vgwListParts, vgwComplete, vgwPreconditionFailed, vgwInvalidRequest, vgwNoSuchUpload,
		minioCreate, minioListParts, minioComplete, minioPreconditionFailed, vgwCompleteRequest, minioCompleteRequest, s3RefListParts(),
		`<?xml version="1.0" encoding="UTF-8"?><s3:ListPartsResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:IsTruncated>true</s3:IsTruncated>` +
			`<s3:NextPartNumberMarker>1</s3:NextPartNumberMarker><s3:Part a='1'><s3:PartNumber> 1 </s3:PartNumber><s3:ETag>&quot;e&#x22;</s3:ETag>` +
			"<s3:Size><![CDATA[5]]></s3:Size><!-- c --><s3:ChecksumCRC32>a\r\nb</s3:ChecksumCRC32></s3:Part><s3:Part/></s3:ListPartsResult>\n",
		`<?xml version="2.0"?><Error><Code>c</Code></Error>`,
		`<?xml version="1.0" encoding="latin1"?><Error><Code>c</Code></Error>`,
		"<\u065b>", "<Error><Code>c</Code><\u065b/></Error>", // U+065B starts no name in XML 1.0's tables
	} {
		f.Add([]byte(doc))
	}
	for _, tt := range xmlRefused {
		f.Add([]byte(tt.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkAgainstEncodingXML(t, doc)
	})
}

// validXMLText reports whether s can be written as XML text as it is:
// valid UTF-8 of characters XML allows.
func validXMLText(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") || !isXMLChar(r) {
			return false
		}
	}
	return true
}

// FuzzS3XMLFields writes each answer, in several of the forms stores use,
// with field values escaped by encoding/xml (xml.EscapeText): the store's
// reader must accept it, read the fields encoding/xml reads, and, for
// values XML can hold, the values written.
func FuzzS3XMLFields(f *testing.F) {
	f.Add("cf19992c-b83d-4e11-a630-5b6204b845ca", `"c1161651af31aec4dcef39c2f2fded82"`, "sHj1x/1ZuLr2LwxN1uvHn+SiPxtJkkBqcM6dFZ2TMD8=", "NoSuchUpload", "The specified upload does not exist.", 1, int64(5<<20), false, uint8(0))
	f.Add("a&b<c>", `"x"'y'`, "]]>", "", "multipart/a b+c ü 日本 (1).bin", 10000, int64(0), true, uint8(0xff))
	f.Add("\r\n\t ", "\xff\x00", "\uFFFD", "&amp;", "<!-- -->", -1, int64(-1), true, uint8(0x15))
	f.Fuzz(func(t *testing.T, uploadID, etag, sum, code, msg string, pn int, size int64, truncated bool, style uint8) {
		pre, decl, sep, attr := "", "", "", ""
		if style&1 != 0 {
			pre = "s3:"
		}
		if style&2 != 0 {
			decl = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
		}
		if style&4 != 0 {
			sep = "\n  <!-- ... -->\n  "
		}
		if style&8 != 0 {
			attr = ` a="&quot;v&quot;"`
		}
		cdata := style&16 != 0
		text := func(s string) string {
			if cdata && validXMLText(s) && !strings.Contains(s, "]]>") && !strings.Contains(s, "\r") {
				return "<![CDATA[" + s + "]]>"
			}
			var b strings.Builder
			xml.EscapeText(&b, []byte(s))
			return b.String()
		}
		el := func(name, value string) string {
			if value == "" && style&32 != 0 {
				return "<" + pre + name + attr + "/>" + sep
			}
			return "<" + pre + name + attr + ">" + text(value) + "</" + pre + name + ">" + sep
		}
		doc := func(root string, body ...string) []byte {
			ns := ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
			if pre != "" {
				ns = ` xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"`
			}
			return []byte(decl + "<" + pre + root + ns + ">" + sep + strings.Join(body, "") + "</" + pre + root + ">" + "\n")
		}
		part := func(n int) string {
			return "<" + pre + "Part>" + sep + el("PartNumber", strconv.Itoa(n)) + el("LastModified", msg) + el("ETag", etag) +
				el("Size", strconv.FormatInt(size, 10)) + el("ChecksumSHA256", sum) + el("ChecksumCRC32", uploadID) + "</" + pre + "Part>" + sep
		}
		docs := map[string][]byte{
			"InitiateMultipartUploadResult": doc("InitiateMultipartUploadResult", el("Bucket", "b"), el("Key", msg), el("UploadId", uploadID)),
			"ListPartsResult": doc("ListPartsResult", el("Key", msg), "<"+pre+"Owner>"+el("ETag", "x")+el("Size", "x")+"</"+pre+"Owner>",
				el("NextPartNumberMarker", strconv.Itoa(pn)), el("IsTruncated", strconv.FormatBool(truncated)), part(pn), part(pn/2)),
			"CompleteMultipartUploadResult": doc("CompleteMultipartUploadResult", el("Location", msg), el("ETag", etag), el("ChecksumCRC64NVME", sum)),
			"Error":                         doc("Error", el("Code", code), el("Message", msg), el("RequestId", uploadID), el("HostId", etag)),
		}
		for name, d := range docs {
			if root := rootElement(d); root != name {
				t.Fatalf("rootElement(%q) = %q", d, root)
			}
			checkAgainstEncodingXML(t, d)
		}

		// Each must be accepted, and hold the values when XML can.
		valid := func(s string) string {
			if validXMLText(s) {
				return s
			}
			return "(not XML text)"
		}
		wantPart := func(n int) listedPart {
			return listedPart{PartNumber: n, LastModified: valid(msg), ETag: valid(etag), Size: size,
				xmlChecksums: xmlChecksums{ChecksumSHA256: valid(sum), ChecksumCRC32: valid(uploadID)}}
		}
		var ini initiateResult
		var lp listPartsResult
		var c completeResult
		var e errorBody
		for _, r := range []struct {
			name      string
			read      func([]byte) error
			got, want any
		}{
			{"InitiateMultipartUploadResult", ini.read, &ini, &initiateResult{UploadID: valid(uploadID)}},
			{"ListPartsResult", lp.read, &lp, &listPartsResult{IsTruncated: truncated, NextPartNumberMarker: pn, Parts: []listedPart{wantPart(pn), wantPart(pn / 2)}}},
			{"CompleteMultipartUploadResult", c.read, &c, &completeResult{ETag: valid(etag), xmlChecksums: xmlChecksums{ChecksumCRC64NVME: valid(sum)}}},
			{"Error", e.read, &e, &errorBody{Code: valid(code), Message: valid(msg), RequestID: valid(uploadID)}},
		} {
			if err := r.read(docs[r.name]); err != nil {
				t.Fatalf("%s %q: %v", r.name, docs[r.name], err)
			}
			if diff := cmp.Diff(r.want, r.got, xmlCmp, cmp.FilterValues(func(a, b string) bool { return a == "(not XML text)" || b == "(not XML text)" }, cmp.Ignore())); diff != "" {
				t.Fatalf("%s %q (-want +got):\n%s", r.name, docs[r.name], diff)
			}
		}
	})
}

// xmlSanitized is s as xml.EscapeText writes it and encoding/xml reads it
// back: invalid UTF-8 and characters XML does not allow made U+FFFD.
func xmlSanitized(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

// FuzzS3XMLWrite: the CompleteMultipartUpload body is what encoding/xml
// writes, byte for byte, and encoding/xml reads the parts back from it.
func FuzzS3XMLWrite(f *testing.F) {
	f.Add(`"1ccff7b0d0c08473fbd119831d77828b"`, `"9a3f33a14ec484015eefbe38d9c01788"`, "", 1, uint8(2), uint8(0))
	f.Add(`"a1d5b7bf265eadaddd74e98b5157ffb3"`, `"4c018db3e9455b977f961a8b68d18244"`, "g8ST4ZTae5xew7CSnJZI03rvrM9X0k/d+RizqnjGJtg=", 1, uint8(2), uint8(0x10))
	f.Add("&<>\"'\t\n\r]]>", "\xff\x01\uFFFD日本", "\r\n", -7, uint8(3), uint8(0x1f))
	f.Fuzz(func(t *testing.T, etag1, etag2, sum string, pn int, n, algs uint8) {
		parts := make([]completePart, n%4)
		for i := range parts {
			parts[i] = completePart{ETag: etag1, PartNumber: pn + i}
			if i%2 == 1 {
				parts[i].ETag = etag2
			}
			for j, field := range parts[i].fields() {
				if algs&(1<<((i+j)%8)) != 0 {
					*field = sum
				}
			}
		}
		got := appendCompleteRequest(nil, parts)
		std, err := xml.Marshal(stdRequestOf(parts))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, std) {
			t.Fatalf("parts %+v:\n got %q\nwant %q (encoding/xml)", parts, got, std)
		}
		var back stdRequest
		if err := xml.Unmarshal(got, &back); err != nil {
			t.Fatalf("encoding/xml cannot read %q: %v", got, err)
		}
		if back.XMLName.Space != "http://s3.amazonaws.com/doc/2006-03-01/" || back.XMLName.Local != "CompleteMultipartUpload" || len(back.Parts) != len(parts) {
			t.Fatalf("read back %+v from %q", back, got)
		}
		for i, p := range parts {
			want := stdRequestPart{stdChecksums: stdChecksums(p.xmlChecksums), ETag: xmlSanitized(p.ETag), PartNumber: p.PartNumber}
			for _, f := range []*string{&want.ChecksumCRC32, &want.ChecksumCRC32C, &want.ChecksumCRC64NVME, &want.ChecksumSHA1, &want.ChecksumSHA256} {
				*f = xmlSanitized(*f)
			}
			if diff := cmp.Diff(want, back.Parts[i], cmp.AllowUnexported(stdRequestPart{})); diff != "" {
				t.Fatalf("part %d read back from %q (-want +got):\n%s", i, got, diff)
			}
		}
	})
}
