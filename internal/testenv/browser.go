package testenv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// One headless Chromium per test binary, shared by every browser test; each
// test gets its own browser context (cookies and storage of its own).
var (
	browserOnce   sync.Once
	browserRoot   context.Context
	browserCancel context.CancelFunc
	browserErr    error
	browserDir    string
)

// chromiumPath finds Debian's chromium (or another Chrome on PATH).
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on PATH (apt-get install chromium)")
}

func startBrowser() {
	path, err := chromiumPath()
	if err != nil {
		browserErr = err
		return
	}
	if browserDir, err = os.MkdirTemp("", "cairn-chromium-"); err != nil {
		browserErr = err
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(browserDir),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// Test servers use a CA generated per test.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	// The first Run starts the browser; it lives as long as ctx.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		cancelAlloc()
		browserErr = err
		return
	}
	browserRoot = ctx
	browserCancel = func() { cancel(); cancelAlloc() }
}

func stopBrowser() {
	if browserCancel != nil {
		browserCancel()
	}
	if browserDir != "" {
		os.RemoveAll(browserDir)
	}
}

// Browser returns a chromedp context for a new tab in a browser context of
// its own, closed when the test ends. A missing Chromium skips the test
// locally and fails it under CI=true.
func Browser(t testing.TB) context.Context {
	t.Helper()
	SkipShort(t, "Chromium")
	browserOnce.Do(startBrowser)
	Require(t, browserErr, "headless Chromium")
	ctx, cancel := chromedp.NewContext(browserRoot, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		t.Fatalf("open a browser tab: %v", err)
	}
	t.Cleanup(cancel)
	return ctx
}

// Step runs browser actions with a deadline, failing the test with what
// was being done.
func Step(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		Screenshot(t, ctx, "failed-"+what)
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// Screenshots are saved under build/screenshots/ at the repository root
// (ignored by git), named after the test and label, so a person can look
// at what the browser showed.
func screenshotDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "build", "screenshots")
}

// Screenshot saves a full-page PNG of the tab and returns its path.
func Screenshot(t testing.TB, ctx context.Context, label string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", label, err)
		return ""
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name() + "-" + label + ".png")
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot %s: %v", label, err)
		return ""
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", label, err)
		return ""
	}
	t.Logf("screenshot: %s", path)
	return path
}

// ScreenshotNarrow saves a screenshot at a phone's width (390 px).
func ScreenshotNarrow(t testing.TB, ctx context.Context, label string) string {
	t.Helper()
	Step(t, ctx, "narrow viewport", chromedp.EmulateViewport(390, 844))
	defer Step(t, ctx, "desktop viewport", chromedp.EmulateViewport(1280, 900))
	return Screenshot(t, ctx, label+"-390px")
}
