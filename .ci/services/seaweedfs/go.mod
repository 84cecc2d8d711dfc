// A wrapper module that only exists to build SeaweedFS's `weed` binary for the S3 tests:
// `go install …/weed@VERSION` is refused because seaweedfs's own go.mod has replace
// directives, so they are repeated here. .ci/services/seaweedfs.sh copies this folder to a
// temp dir, runs `go mod tidy` there (so no go.sum lands in the repo) and builds.
module charlab.local/seaweedfs-build

go 1.26.6

require github.com/seaweedfs/seaweedfs v0.0.0-20261109003541-7506e5f91cd6

// Copied from seaweedfs's go.mod at the version above: tyler-smith/go-bip39 was deleted
// upstream and only reaches the build transitively.
replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0
