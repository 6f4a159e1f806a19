package protocol

import (
	"encoding/json"
	"testing"

	"github.com/cairn-registry/cairn/providers"
)

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "linux", "a\"b", `back\slash`, "<html>&", "line\nbreak\t", "ünïcode", "\u2028", "\x7f", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc+/=\n-----END PGP PUBLIC KEY BLOCK-----\n"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendDownloadMatchesEncodingJSON(t *testing.T) {
	urls := []string{"https://cairn.example/v1/provider-files/x/a.zip?token=1.AA.cm9vdA.sig", "https://h/a&b<c>", "https://h/\"q\""}
	url := func(b []byte, i int) []byte { return appendJSONString(b, urls[i]) }
	armor := "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBG<>&\n-----END PGP PUBLIC KEY BLOCK-----\n"
	for _, tc := range []struct {
		protocols []string
		found     bool
	}{{[]string{"5.0", "6.0"}, true}, {nil, true}, {[]string{}, false}} {
		key := providers.Key{KeyID: "51852D87348FFC4C", ASCIIArmor: armor}
		got := appendDownload(nil, tc.protocols, "linux", "amd64", "terraform-provider-x_1.0.0_linux_amd64.zip", "abc123", url, key, tc.found)
		resp := downloadResponse{Protocols: tc.protocols, OS: "linux", Arch: "amd64", Filename: "terraform-provider-x_1.0.0_linux_amd64.zip",
			DownloadURL: urls[0], ShasumsURL: urls[1], ShasumsSignatureURL: urls[2], Shasum: "abc123"}
		resp.SigningKeys.GPGPublicKeys = []gpgPublicKey{}
		if tc.found {
			resp.SigningKeys.GPGPublicKeys = append(resp.SigningKeys.GPGPublicKeys, gpgPublicKey{KeyID: key.KeyID, ASCIIArmor: armor})
		}
		want, _ := json.Marshal(&resp)
		if string(got) != string(want) {
			t.Errorf("appendDownload:\n got %s\nwant %s", got, want)
		}
	}
}
