//go:build tools

// Package tools pins the weed command so `go mod tidy` keeps every module it needs.
package tools

import _ "github.com/seaweedfs/seaweedfs/weed"
