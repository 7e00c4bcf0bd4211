// Command go-httpbin is upstream go-httpbin (github.com/mccutchen/go-httpbin/v2),
// built at the version pinned in ../versions.env. Same as upstream
// cmd/go-httpbin; build.sh sets version with -ldflags -X main.version=...
package main

import (
	"os"

	"github.com/mccutchen/go-httpbin/v2/httpbin/cmd"
)

var version = "dev"

func main() { os.Exit(cmd.Main(cmd.BuildInfo{Version: version})) }
