//go:build linux

package node

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// File is a file of an image built here.
type File struct {
	Path string // in the image
	Data []byte
	Mode int64
}

// Image is an image to build from files and push.
type Image struct {
	Files      []File
	Entrypoint []string
	User       string
}

// searchPath is the PATH of every image built here.
const searchPath = "/usr/local/bin:/usr/bin:/bin"

// Push builds img as one layer and pushes it to registry (host:port,
// plain HTTP) as repo:tag; it returns the reference by digest.
func Push(registry, repo, tag string, img Image) (string, error) {
	layer, err := layerOf(img.Files)
	if err != nil {
		return "", err
	}
	base, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: runtime.GOARCH, OS: "linux",
		Config: v1.Config{Entrypoint: img.Entrypoint, User: img.User, Env: []string{"PATH=" + searchPath}},
	})
	if err != nil {
		return "", err
	}
	image, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return "", err
	}
	ref, err := name.ParseReference(registry+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, image); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := image.Digest()
	if err != nil {
		return "", err
	}
	return registry + "/" + repo + "@" + d.String(), nil
}

// layerOf is a layer holding files, with their directories.
func layerOf(files []File) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		var parents []string
		for d := path.Dir(f.Path); d != "/" && d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(parents[i], "/") + "/", Mode: 0o755}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.Path, "/"), Mode: f.Mode, Size: int64(len(f.Data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// Binaries are programs of this machine with every shared library they
// load (as ldd lists them), each program under /usr/local/bin by the name
// given: an image that runs a Debian package's programs.
func Binaries(programs map[string]string) ([]File, error) {
	var files []File
	libs := map[string]bool{}
	for as, p := range programs {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(real)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: "/usr/local/bin/" + as, Data: b, Mode: 0o755})
		out, err := exec.Command("ldd", real).Output()
		if err != nil {
			return nil, fmt.Errorf("ldd %s: %w", real, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			for _, field := range strings.Fields(line) {
				if strings.HasPrefix(field, "/") {
					libs[field] = true
				}
			}
		}
	}
	for lib := range libs {
		b, err := os.ReadFile(lib)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: lib, Data: b, Mode: 0o755})
	}
	return files, nil
}

// podtool builds this harness' podtool for linux on this machine's
// architecture.
func podtool(dir string) ([]byte, error) {
	root, err := component.WorkspaceRoot()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "podtool")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./testkit/kube/node/podtool")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build podtool: %w: %s", err, b)
	}
	return os.ReadFile(out)
}

// PodtoolImage pushes the image of podtool, whose entrypoint pauses: the
// sandbox image, and with a command of `/podtool get URL` a client pod.
func PodtoolImage(registry, dir string) (string, error) {
	b, err := podtool(dir)
	if err != nil {
		return "", err
	}
	return Push(registry, "podtool", "test", Image{
		Files:      []File{{Path: "/podtool", Data: b, Mode: 0o755}},
		Entrypoint: []string{"/podtool", "pause"},
		User:       "65535:65535",
	})
}
