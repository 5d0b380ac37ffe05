package main

import (
	"bufio"
	"crypto/sha1" //nolint:gosec // RFC 6455 mandates SHA-1 for Sec-WebSocket-Accept.
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// wsGUID is the fixed GUID of RFC 6455 section 1.3.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

const (
	wsMaxPayload = 16 << 20
	wsIdle       = 5 * time.Minute

	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// wsAccept computes Sec-WebSocket-Accept for a client's Sec-WebSocket-Key.
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID)) //nolint:gosec // see import.
	return encodeBase64(h[:])
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// serveWebSocket performs the RFC 6455 handshake and echoes every data frame back unchanged
// (unmasked, as a server must send), answers pings and closes.
func serveWebSocket(w http.ResponseWriter, r *http.Request, id identity) error {
	key := r.Header.Get("Sec-WebSocket-Key")
	if r.Method != http.MethodGet || !headerHasToken(r.Header, "Connection", "upgrade") ||
		!headerHasToken(r.Header, "Upgrade", "websocket") || key == "" {
		http.Error(w, "websocket upgrade required", http.StatusBadRequest)
		return nil
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "unsupported websocket version", http.StatusUpgradeRequired)
		return nil
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "hijacking unsupported", http.StatusInternalServerError)
		return errors.New("response writer cannot hijack")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return fmt.Errorf("hijack: %w", err)
	}
	defer func() { _ = conn.Close() }()
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + wsAccept(key) + "\r\nX-Echo-Pod: " + id.Pod + "\r\n\r\n"
	if _, err := rw.WriteString(resp); err != nil {
		return fmt.Errorf("write handshake: %w", err)
	}
	if err := rw.Flush(); err != nil {
		return fmt.Errorf("flush handshake: %w", err)
	}
	for {
		if err := conn.SetDeadline(time.Now().Add(wsIdle)); err != nil {
			return fmt.Errorf("set deadline: %w", err)
		}
		fin, op, payload, err := readFrame(rw.Reader)
		if err != nil {
			return err
		}
		switch op {
		case opPing:
			op = opPong
		case opPong:
			continue
		}
		if err := writeFrame(rw.Writer, fin, op, payload); err != nil {
			return err
		}
		if err := rw.Flush(); err != nil {
			return fmt.Errorf("flush frame: %w", err)
		}
		if op == opClose {
			return nil
		}
	}
}

// readFrame reads one client frame and unmasks its payload.
func readFrame(r *bufio.Reader) (fin bool, op byte, payload []byte, err error) {
	var hdr [2]byte
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		return false, 0, nil, fmt.Errorf("read frame header: %w", err)
	}
	fin, op = hdr[0]&0x80 != 0, hdr[0]&0x0f
	if hdr[0]&0x70 != 0 {
		return false, 0, nil, errors.New("reserved bits set")
	}
	switch op {
	case opContinuation, opText, opBinary, opClose, opPing, opPong:
	default:
		return false, 0, nil, fmt.Errorf("unknown opcode %#x", op)
	}
	if hdr[1]&0x80 == 0 {
		return false, 0, nil, errors.New("client frame not masked")
	}
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return false, 0, nil, fmt.Errorf("read length: %w", err)
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return false, 0, nil, fmt.Errorf("read length: %w", err)
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > wsMaxPayload {
		return false, 0, nil, fmt.Errorf("frame of %d bytes exceeds %d", n, wsMaxPayload)
	}
	var mask [4]byte
	if _, err = io.ReadFull(r, mask[:]); err != nil {
		return false, 0, nil, fmt.Errorf("read mask: %w", err)
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return false, 0, nil, fmt.Errorf("read payload: %w", err)
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return fin, op, payload, nil
}

// writeFrame writes one unmasked server frame.
func writeFrame(w *bufio.Writer, fin bool, op byte, payload []byte) error {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	hdr := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, byte(n))
	case n <= 0xffff:
		hdr = append(hdr, 126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, 127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("write frame header: %w", err)
	}
	if _, err := w.Write(payload); err != nil {
		return fmt.Errorf("write payload: %w", err)
	}
	return nil
}
