package modules

import "testing"

func TestSplitAnalyticsToken(t *testing.T) {
	for _, tc := range []struct {
		in, ns, token string
		ok            bool
	}{
		{"acme", "acme", "", false},
		{"ci__acme", "acme", "ci", true},
		{"__acme", "acme", "", true},
		{"my-tf-application__acme", "acme", "", true},
		{"a__b__c", "a__b__c", "", false},
	} {
		ns, token, ok := SplitAnalyticsToken(tc.in)
		if ns != tc.ns || token != tc.token || ok != tc.ok {
			t.Errorf("SplitAnalyticsToken(%q) = %q %q %v, want %q %q %v", tc.in, ns, token, ok, tc.ns, tc.token, tc.ok)
		}
	}
	for ua, want := range map[string]string{
		"Terraform/1.9.8 (+https://www.terraform.io)": "1.9.8",
		"OpenTofu/1.8.0": "1.8.0",
		"curl/8.5.0":     "",
		"":               "",
	} {
		if got := TerraformVersionFromUserAgent(ua); got != want {
			t.Errorf("TerraformVersionFromUserAgent(%q) = %q, want %q", ua, got, want)
		}
	}
}
