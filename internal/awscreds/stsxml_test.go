package awscreds

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// xmlFields are the paths (below the root) FuzzReadXML and TestReadXML
// read, and xmlStruct the same paths for encoding/xml.
var xmlFields = []string{
	"AssumeRoleResult/Credentials/AccessKeyId",
	"AssumeRoleResult/Credentials/SessionToken",
	"Error/Code",
	"Code",
}

type xmlStruct struct {
	AccessKeyID  string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
	SessionToken string `xml:"AssumeRoleResult>Credentials>SessionToken"`
	ErrorCode    string `xml:"Error>Code"`
	Code         string `xml:"Code"`
}

// readFields reads doc with readXML: the root and xmlFields' texts.
func readFields(doc []byte) (root string, got xmlStruct, err error) {
	root, err = readXML(doc, nil)
	if err != nil {
		return "", xmlStruct{}, err
	}
	vals := make([]string, len(xmlFields))
	want := map[string]*string{}
	for i, f := range xmlFields {
		want[root+"/"+f] = &vals[i]
	}
	if _, err := readXML(doc, want); err != nil {
		return "", xmlStruct{}, err
	}
	return root, xmlStruct{vals[0], vals[1], vals[2], vals[3]}, nil
}

var xmlSeeds = []string{
	`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId><SessionToken>tok&amp;en</SessionToken></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse>\r\n <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>a &lt;b&gt; &#233;&#x20AC;</Message></Error>\n<RequestId>1</RequestId></ErrorResponse>\n",
	`<Error><Code>NoSuchKey</Code><!-- c --><Message/></Error>`,
	`<r><Code a='1' b="&quot;">x<!--y-->z</Code><Code>last</Code></r>`,
	`<p:r xmlns:p="u"><p:AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId></Credentials></p:AssumeRoleResult></p:r>`,
	`<r><Code><x/></Code></r>`,
	`<r><![CDATA[x]]></r>`,
	`<!DOCTYPE r><r/>`,
	`<r>]]></r>`,
	`<?xml version="1.1"?><r/>`,
	`<r/>trailing`,
	"<r>\x00</r>",
	`<r><Code>&#xD800;</Code></r>`,
}

// FuzzReadXML: what readXML accepts, encoding/xml accepts and reads the
// same; readXML never panics.
func FuzzReadXML(f *testing.F) {
	for _, s := range xmlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		_, got, err := readFields(doc)
		if err != nil {
			return
		}
		var want xmlStruct
		if err := xml.Unmarshal(doc, &want); err != nil {
			t.Fatalf("readXML accepted %q, encoding/xml did not: %v", doc, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%q: readXML differs from encoding/xml (-xml +readXML):\n%s", doc, diff)
		}
	})
}

func TestReadXML(t *testing.T) {
	tests := []struct {
		doc      string
		root     string
		want     xmlStruct
		rejected bool
	}{
		{doc: xmlSeeds[0], root: "AssumeRoleResponse", want: xmlStruct{AccessKeyID: "ASIA1", SessionToken: "tok&en"}},
		{doc: xmlSeeds[1], root: "ErrorResponse", want: xmlStruct{ErrorCode: "AccessDenied"}},
		{doc: xmlSeeds[2], root: "Error", want: xmlStruct{Code: "NoSuchKey"}},
		{doc: xmlSeeds[3], root: "r", want: xmlStruct{Code: "last"}},
		{doc: xmlSeeds[4], root: "r", want: xmlStruct{AccessKeyID: "A"}},
		{doc: "<r><Code>a\r\nb\rc</Code></r>", root: "r", want: xmlStruct{Code: "a\nb\nc"}},
		{doc: "<?xml version='1.0' standalone='yes'?><r/>", root: "r"},
		{doc: "<!-- before --> <r></r> <!-- after -->\n", root: "r"},
		{doc: xmlSeeds[5], rejected: true},  // a wanted element with a child
		{doc: xmlSeeds[6], rejected: true},  // CDATA
		{doc: xmlSeeds[7], rejected: true},  // DOCTYPE
		{doc: xmlSeeds[8], rejected: true},  // ]]> in text
		{doc: xmlSeeds[9], rejected: true},  // XML 1.1
		{doc: xmlSeeds[10], rejected: true}, // text after the root
		{doc: xmlSeeds[11], rejected: true}, // NUL
		{doc: xmlSeeds[12], rejected: true}, // a surrogate
		{doc: `<?xml encoding="UTF-8" version="1.0"?><r/>`, rejected: true},
		{doc: `<?xml version="1.0" encoding="ISO-8859-1"?><r/>`, rejected: true},
		{doc: `<?pi x?><r/>`, rejected: true},
		{doc: `<r><!-- a -- b --></r>`, rejected: true},
		{doc: `<r><a></b></r>`, rejected: true},
		{doc: `<r><p:a></q:a></r>`, rejected: true},
		{doc: `<r a="1" a="2"/>`, rejected: true},
		{doc: `<r a="<"/>`, rejected: true},
		{doc: `<r a=1/>`, rejected: true},
		{doc: `<r>&nbsp;</r>`, rejected: true},
		{doc: `<r>&#X41;</r>`, rejected: true},
		{doc: `<r>&#0;</r>`, rejected: true},
		{doc: `<a:b:c/>`, rejected: true},
		{doc: `<r>`, rejected: true},
		{doc: "text<r/>", rejected: true},
		{doc: "\uFEFF<r/>", rejected: true},
		{doc: "<r>\xff</r>", rejected: true},
		{doc: strings.Repeat("<a>", maxXMLDepth+1) + strings.Repeat("</a>", maxXMLDepth+1), rejected: true},
		{doc: strings.Repeat("<a>", maxXMLDepth) + strings.Repeat("</a>", maxXMLDepth), root: "a"},
	}
	for _, tt := range tests {
		root, got, err := readFields([]byte(tt.doc))
		if tt.rejected {
			if err == nil {
				t.Errorf("%q: accepted (root %q, %+v), want refused", tt.doc, root, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.doc, err)
			continue
		}
		if root != tt.root {
			t.Errorf("%q: root %q, want %q", tt.doc, root, tt.root)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.doc, diff)
		}
		// encoding/xml agrees on every accepted document of the table.
		var std xmlStruct
		if err := xml.Unmarshal([]byte(tt.doc), &std); err != nil || std != got {
			t.Errorf("%q: encoding/xml gives %+v, %v", tt.doc, std, err)
		}
	}
}
