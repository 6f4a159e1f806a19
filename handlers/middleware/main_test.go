package middleware_test

import (
	"testing"

	"github.com/cairn-registry/cairn/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
