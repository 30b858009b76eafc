// hello prints the platform it was built for and the one it runs on.
package main

import (
	"fmt"
	"runtime"
)

// Set at build time: -ldflags "-X main.target=linux/arm64".
var target = "unknown"

func main() {
	fmt.Printf("hello from %s, built for %s\n", runtime.GOOS+"/"+runtime.GOARCH, target)
}
