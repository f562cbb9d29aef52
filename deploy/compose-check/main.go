// compose-check loads docker-compose.yml with the Compose Specification's own
// loader (compose-go, the library `docker compose` is built on), so a file it
// accepts is one Docker Compose accepts too, and prints a JSON summary of the
// services for tests and reviewers. It needs no Docker engine.
//
//	compose-check [-file docker-compose.yml] [-env-file .env.example] [-empty-env] [-unset NAME]...
//
// Paths are relative to the working directory (deploy/compose-check/run.sh
// runs it from the repository root). The environment used for ${...}
// interpolation is the env file only, never the caller's environment, so the
// result does not depend on who runs it. Exit status: 0 valid, 1 invalid,
// 2 bad usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

const projectName = "grassroots"

// Variables whose values are never printed.
var secretName = regexp.MustCompile(`(?i)(PASSWORD|SECRET|TOKEN|PEPPER|PRIVATE|CREDENTIAL|API_?KEY)`)

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

type port struct {
	HostIP    string `json:"host_ip"`
	Published string `json:"published"`
	Target    uint32 `json:"target"`
	Protocol  string `json:"protocol"`
}

type build struct {
	Context    string `json:"context"`
	Dockerfile string `json:"dockerfile"`
	// Build arguments; null for one named without a value (taken from the environment).
	Args map[string]*string `json:"args,omitempty"`
}

type volume struct {
	Type     string `json:"type"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only"`
}

type service struct {
	Name        string            `json:"name"`
	Image       string            `json:"image,omitempty"`
	Build       *build            `json:"build,omitempty"`
	Command     []string          `json:"command,omitempty"`
	Entrypoint  []string          `json:"entrypoint,omitempty"`
	Ports       []port            `json:"ports"`
	EnvNames    []string          `json:"environment"`
	EnvValues   map[string]string `json:"environment_values"`
	DependsOn   map[string]string `json:"depends_on"`
	Healthcheck []string          `json:"healthcheck,omitempty"`
	Volumes     []volume          `json:"volumes"`
	Restart     string            `json:"restart,omitempty"`
}

type summary struct {
	Project  string    `json:"project"`
	File     string    `json:"file"`
	EnvFile  string    `json:"env_file,omitempty"`
	Services []service `json:"services"`
	Volumes  []string  `json:"volumes"`
}

func main() {
	os.Exit(run())
}

func run() int {
	file := flag.String("file", "docker-compose.yml", "compose file")
	envFile := flag.String("env-file", ".env.example", "dotenv file giving the interpolation environment")
	emptyEnv := flag.Bool("empty-env", false, "interpolate with an empty environment (ignores -env-file)")
	var unset stringList
	flag.Var(&unset, "unset", "drop this variable from the environment (repeatable)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "compose-check: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		return 2
	}

	wd, err := os.Getwd()
	if err != nil {
		return fail("cannot determine the working directory: %v", err)
	}
	composePath := absolute(wd, *file)

	env := map[string]string{}
	if !*emptyEnv {
		// No lookup function: the file's values only, not the caller's environment.
		env, err = dotenv.Read(absolute(wd, *envFile))
		if err != nil {
			return fail("cannot read env file %s: %v", *envFile, err)
		}
	}
	for _, name := range unset {
		delete(env, name)
	}

	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(composePath),
		ConfigFiles: []types.ConfigFile{{Filename: composePath}},
		Environment: env,
	}
	project, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName(projectName, true)
	})
	if err != nil {
		return fail("%s is not a valid compose file: %v", *file, err)
	}
	if len(project.Services) == 0 {
		return fail("%s defines no services", *file)
	}

	out := summary{Project: project.Name, File: relative(wd, composePath), Volumes: []string{}}
	if !*emptyEnv {
		out.EnvFile = *envFile
	}
	secrets := secretValues(env)
	for _, name := range project.ServiceNames() {
		out.Services = append(out.Services, describe(wd, project.Services[name], secrets))
	}
	sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].Name < out.Services[j].Name })
	for name := range project.Volumes {
		out.Volumes = append(out.Volumes, name)
	}
	sort.Strings(out.Volumes)

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fail("cannot write the summary: %v", err)
	}
	return 0
}

func describe(wd string, s types.ServiceConfig, secrets []string) service {
	d := service{
		Name:       s.Name,
		Image:      s.Image,
		Command:    s.Command,
		Entrypoint: s.Entrypoint,
		Ports:      []port{},
		EnvNames:   []string{},
		EnvValues:  map[string]string{},
		DependsOn:  map[string]string{},
		Volumes:    []volume{},
		Restart:    s.Restart,
	}
	if s.Build != nil {
		d.Build = &build{Context: relative(wd, s.Build.Context), Dockerfile: s.Build.Dockerfile}
		if len(s.Build.Args) > 0 {
			d.Build.Args = map[string]*string{}
		}
		for name, value := range s.Build.Args {
			if value != nil {
				v := redact(name, *value, secrets)
				value = &v
			}
			d.Build.Args[name] = value
		}
	}
	for _, p := range s.Ports {
		d.Ports = append(d.Ports, port{HostIP: p.HostIP, Published: p.Published, Target: p.Target, Protocol: p.Protocol})
	}
	for name, value := range s.Environment {
		d.EnvNames = append(d.EnvNames, name)
		v := ""
		if value != nil {
			v = *value
		}
		d.EnvValues[name] = redact(name, v, secrets)
	}
	sort.Strings(d.EnvNames)
	for name, dep := range s.DependsOn {
		d.DependsOn[name] = dep.Condition
	}
	if s.HealthCheck != nil && !s.HealthCheck.Disable {
		d.Healthcheck = s.HealthCheck.Test
	}
	for _, v := range s.Volumes {
		src := v.Source
		if v.Type == types.VolumeTypeBind {
			src = relative(wd, src)
		}
		d.Volumes = append(d.Volumes, volume{Type: v.Type, Source: src, Target: v.Target, ReadOnly: v.ReadOnly})
	}
	return d
}

// secretValues are the values of secret-looking variables, longest first, so
// that they can be masked wherever they were interpolated.
func secretValues(env map[string]string) []string {
	var values []string
	for name, value := range env {
		if secretName.MatchString(name) && value != "" {
			values = append(values, value)
		}
	}
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	return values
}

func redact(name, value string, secrets []string) string {
	if secretName.MatchString(name) {
		return "***"
	}
	if u, err := url.Parse(value); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "***")
			value = strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
		}
	}
	for _, s := range secrets {
		value = strings.ReplaceAll(value, s, "***")
	}
	return value
}

func absolute(wd, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(wd, p)
}

// relative makes an absolute path relative to wd when it lies inside it.
func relative(wd, p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return filepath.ToSlash(rel)
}

func fail(format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, "required variable") {
		msg += "\n(every secret must be set: copy .env.example to .env and fill it in)"
	}
	fmt.Fprintln(os.Stderr, "compose-check: "+msg)
	return 1
}
