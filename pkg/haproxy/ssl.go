package haproxy

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
)

// NewSSLCert builds "new ssl cert <file>": an empty certificate store that
// SetSSLCert fills and CommitSSLCert activates.
func NewSSLCert(certFile string) (Command, error) {
	if err := checkFile("certificate", certFile); err != nil {
		return Command{}, err
	}
	return build(replyNotice, "new ssl cert", certFile)
}

// SetSSLCert builds "set ssl cert <file> <<" with the PEM (certificate and
// key) as payload. It opens or updates a transaction; CommitSSLCert
// applies it.
func SetSSLCert(certFile string, pemData []byte) (Command, error) {
	if err := checkFile("certificate", certFile); err != nil {
		return Command{}, err
	}
	payload, err := checkPEM(pemData)
	if err != nil {
		return Command{}, fmt.Errorf("set ssl cert %s: %w", certFile, err)
	}
	c, err := build(replyNotice, "set ssl cert", certFile)
	if err != nil {
		return Command{}, err
	}
	c.payload, c.secret = payload, true
	return c, nil
}

// CommitSSLCert builds "commit ssl cert <file>".
func CommitSSLCert(certFile string) (Command, error) {
	if err := checkFile("certificate", certFile); err != nil {
		return Command{}, err
	}
	return build(replySuccess, "commit ssl cert", certFile)
}

// AbortSSLCert builds "abort ssl cert <file>".
func AbortSSLCert(certFile string) (Command, error) {
	if err := checkFile("certificate", certFile); err != nil {
		return Command{}, err
	}
	return build(replyNotice, "abort ssl cert", certFile)
}

// DelSSLCert builds "del ssl cert <file>"; HAProxy refuses while a
// crt-list line still uses the certificate.
func DelSSLCert(certFile string) (Command, error) {
	if err := checkFile("certificate", certFile); err != nil {
		return Command{}, err
	}
	return build(replyNotice, "del ssl cert", certFile)
}

// AddSSLCrtList adds the line "<file> [sni...]" to a crt-list. It uses
// the payload form: in 2.6 the one-line form "add ssl crt-list <list>
// <file> <sni>" silently drops everything after <file>.
func AddSSLCrtList(crtList, certFile string, sni []string) (Command, error) {
	if err := checkFile("crt-list", crtList); err != nil {
		return Command{}, err
	}
	if err := checkFile("certificate", certFile); err != nil {
		return Command{}, err
	}
	line := certFile
	for _, s := range sni {
		if !sniFilter.MatchString(s) || len(s) > 253 {
			return Command{}, fmt.Errorf("invalid SNI filter %q", s)
		}
		line += " " + s
	}
	if len(line) >= maxLine {
		return Command{}, fmt.Errorf("crt-list line for %s is %d bytes, over the %d limit", certFile, len(line), maxLine)
	}
	c, err := build(replySuccess, "add ssl crt-list", crtList)
	if err != nil {
		return Command{}, err
	}
	c.payload = []byte(line + "\n")
	return c, nil
}

// DelSSLCrtList builds "del ssl crt-list <list> <file>". When the file is
// on several lines HAProxy wants "<file>:<line>", which certFile may be.
func DelSSLCrtList(crtList, certFile string) (Command, error) {
	if err := checkFile("crt-list", crtList); err != nil {
		return Command{}, err
	}
	if err := checkFile("certificate", certFile); err != nil {
		return Command{}, err
	}
	return build(replyNotice, "del ssl crt-list", crtList, certFile)
}

// checkPEM accepts PEM blocks only, with at least one certificate, and
// returns them ending in a single line feed. An empty line would end the
// payload early and the rest would run as commands, so it is refused along
// with '\r' and any byte outside the PEM alphabet.
func checkPEM(data []byte) ([]byte, error) {
	data = bytes.TrimRight(data, "\n")
	if len(data) == 0 {
		return nil, errors.New("empty PEM")
	}
	if !pemByte.Match(data) {
		return nil, errors.New("PEM holds a byte outside base64, armour and header characters")
	}
	if bytes.Contains(data, []byte("\n\n")) || data[0] == '\n' {
		return nil, errors.New("PEM holds an empty line, which would end the payload")
	}
	if len(data) >= 64*1024 {
		return nil, fmt.Errorf("PEM is %d bytes, over the 64 KiB limit", len(data))
	}
	rest, certs := data, 0
	for len(rest) > 0 {
		if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			return nil, fmt.Errorf("text outside PEM blocks: %.20q", rest)
		}
		block, r := pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("malformed PEM block: %.30q", rest)
		}
		if block.Type == "CERTIFICATE" {
			certs++
		}
		rest = bytes.TrimLeft(r, "\n")
	}
	if certs == 0 {
		return nil, errors.New("PEM holds no CERTIFICATE block")
	}
	out := make([]byte, 0, len(data)+1)
	return append(append(out, data...), '\n'), nil
}
