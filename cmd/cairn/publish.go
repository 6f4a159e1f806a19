package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/signal"

	"github.com/cairn-registry/cairn/internal/publish"
)

const publishUsage = `usage:
  cairn publish provider --url URL --namespace NS DIR
            upload a goreleaser-style release folder (terraform-provider-<type>_
            <version>_<os>_<arch>.zip, _SHA256SUMS, _SHA256SUMS.sig, _manifest.json)
            as a private provider; the signing key must be a GPG key of NS
  cairn publish module --url URL --project GROUP/PROJECT --name NAME --system SYSTEM --version X.Y.Z DIR
            pack a module directory and publish it
The token is read from CAIRN_TOKEN (a personal access token or a CI job
token). Re-running after a partial failure completes the upload.`

// publishCmd is "cairn publish provider|module".
func publishCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(publishUsage)
	}
	fs := flag.NewFlagSet("publish "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { io.WriteString(stderr, publishUsage+"\n") }
	url := fs.String("url", os.Getenv("CAIRN_URL"), "Cairn's address (CAIRN_URL)")
	namespace := fs.String("namespace", "", "provider namespace (top-level group)")
	project := fs.String("project", "", "module's project (full path)")
	name := fs.String("name", "", "module name")
	system := fs.String("system", "", "module system (provider)")
	ver := fs.String("version", "", "module version")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *url == "" || fs.NArg() != 1 {
		return errors.New(publishUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := &publish.Client{URL: *url, Token: os.Getenv("CAIRN_TOKEN"), Log: stdout}
	switch args[0] {
	case "provider":
		if *namespace == "" {
			return errors.New("--namespace is required")
		}
		return c.ProviderRelease(ctx, *namespace, fs.Arg(0))
	case "module":
		return c.Module(ctx, publish.ModuleInput{Project: *project, Name: *name, System: *system, Version: *ver}, fs.Arg(0))
	}
	return errors.New(publishUsage)
}
