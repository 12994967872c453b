package httpapi

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"presign.dev/presign"
)

// ValidatePublicURL checks u as Options.PublicURL: an http or https URL
// with a host, without user info, query or fragment, and without a
// trailing "/" (a path prefix, such as https://example.com/presign, is
// allowed: routes are appended to it). It returns an *presign.Error
// (CodeInvalidArgument) that never quotes a URL with user info, a query or
// a fragment.
func ValidatePublicURL(u string) error {
	if msg := publicURLProblem(u); msg != "" {
		return presign.Errorf(presign.CodeInvalidArgument, "%s", msg)
	}
	return nil
}

func publicURLProblem(s string) string {
	const example = "like https://presign.example.com"
	p, err := url.Parse(s)
	switch {
	case s == "":
		return "is empty; give presign's URL as clients reach it, " + example
	case err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Opaque != "":
		return fmt.Sprintf("%s is not an http(s) URL %s", presign.QuoteURL(s), example)
	case p.User != nil:
		return "must not hold user info (user:password@): the URL is public"
	case strings.ContainsAny(s, "?#"):
		return "must not have a query or a fragment: routes are appended to its path"
	case strings.HasSuffix(s, "/"):
		return fmt.Sprintf("%q ends with \"/\": write %q (routes are appended to it)", s, strings.TrimRight(s, "/"))
	case p.Path != "" && (path.Clean(p.Path) != p.Path || p.RawPath != ""):
		return fmt.Sprintf("%q has a path that is not clean (no empty, \".\" or \"..\" segments, no escapes): write it as clients reach it", s)
	}
	return ""
}
