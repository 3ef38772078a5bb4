package config

import (
	"net"
	"strconv"
	"strings"
)

// validate checks one storage endpoint found at path.
func (e Endpoint) validate(p *problems, path string) {
	if !idPattern.MatchString(e.ID) {
		p.add(path+".id", "must be 1-64 letters, digits, '.', '_' or '-' "+
			"starting with a letter or digit, got %q", e.ID)
	}
	checkOneOf(p, path+".type", e.Type, Local, S3)
	checkOneOf(p, path+".role", e.Role, Primary, Backup, Mirror)

	switch e.Type {
	case Local:
		e.validateLocal(p, path)
	case S3:
		e.validateS3(p, path)
	}
}

// validateLocal checks a local endpoint. The cluster keeps its own copy on
// local disks and sends backups and mirrors to S3, so a local endpoint is
// always the primary.
func (e Endpoint) validateLocal(p *problems, path string) {
	a := e.AdapterConfig
	if e.Role == Backup || e.Role == Mirror {
		p.add(path+".role", "must be primary for a local endpoint; "+
			"backup and mirror tiers are s3 endpoints")
	}
	if strings.TrimSpace(a.Path) == "" {
		p.add(path+".adapter_config.path", "must name the data directory")
	}

	s3Only := []struct {
		key string
		set bool
	}{
		{"endpoint", a.Endpoint != ""},
		{"bucket", a.Bucket != ""},
		{"region", a.Region != ""},
		{"access_key", a.AccessKey != ""},
		{"secret_key", a.SecretKey != ""},
		{"prefix", a.Prefix != ""},
		{"use_ssl", a.UseSSL},
	}
	for _, f := range s3Only {
		if f.set {
			p.add(path+".adapter_config."+f.key, "applies to s3 endpoints only")
		}
	}
}

// validateS3 checks the fields of an S3 tier. The node does not drive S3
// tiers yet; checking the fields now means a file written today keeps
// working when it does.
func (e Endpoint) validateS3(p *problems, path string) {
	a, at := e.AdapterConfig, path+".adapter_config."
	if e.Role == Primary {
		p.add(path+".role", "must be backup or mirror for an s3 endpoint; "+
			"the primary copy stays on the cluster's local disks")
	}
	if a.Path != "" {
		p.add(at+"path", "applies to local endpoints only")
	}
	if !bucketPattern.MatchString(a.Bucket) || strings.Contains(a.Bucket, "..") {
		p.add(at+"bucket", "must be an S3 bucket name: 3-63 lowercase letters, "+
			"digits, '.' or '-', starting and ending with a letter or digit, got %q", a.Bucket)
	}
	if a.Endpoint != "" && !validHostPort(a.Endpoint) {
		p.add(at+"endpoint", "must be host or host:port without a scheme, got %q", a.Endpoint)
	}
	if (a.AccessKey == "") != (a.SecretKey == "") {
		p.add(at+"secret_key", "access_key and secret_key must be set together or not at all")
	}
	if strings.HasPrefix(a.Prefix, "/") {
		p.add(at+"prefix", "must not start with '/', got %q", a.Prefix)
	}
}

// validHostPort reports whether s is host or host:port, with a port of
// 1-65535 when present. An IPv6 host with a port is written in brackets.
func validHostPort(s string) bool {
	if validHost(s) {
		return true
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" || port[0] < '0' || port[0] > '9' {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535 && validHost(host)
}
