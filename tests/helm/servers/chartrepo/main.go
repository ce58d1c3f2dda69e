// chartrepo serves a directory of chart archives and its index.yaml over
// plain HTTP on 127.0.0.1, as a static host (GitHub Pages, S3) serves a Helm
// chart repository: that is all a Helm HTTP repository is. With -user and
// -password-file every request must carry those credentials (HTTP basic
// auth). Each request is logged to stderr: method, path, status.
//
//	chartrepo -dir DIR [-port N] [-port-file FILE] [-user U -password-file F]
//	chartrepo -bcrypt < PASSWORD   (prints its bcrypt hash, for an htpasswd file)
package main

import (
	"bufio"
	"crypto/subtle"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	dir := flag.String("dir", ".", "directory to serve")
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: any free one)")
	portFile := flag.String("port-file", "", "write the port listened on to this file")
	user := flag.String("user", "", "require basic auth as this user")
	passFile := flag.String("password-file", "", "file holding the password (with -user)")
	hash := flag.Bool("bcrypt", false, "print the bcrypt hash of the password read on stdin, and exit")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("chartrepo: ")

	// The registry's htpasswd takes bcrypt hashes only, and `htpasswd` (from
	// apache2-utils) is not everywhere.
	if *hash {
		pw, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && pw == "" {
			log.Fatalf("no password on stdin: %v", err)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(strings.TrimRight(pw, "\r\n")), bcrypt.DefaultCost)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(h))
		return
	}

	var password string
	if (*user == "") != (*passFile == "") {
		log.Fatal("-user and -password-file go together")
	}
	if *passFile != "" {
		b, err := os.ReadFile(*passFile)
		if err != nil {
			log.Fatal(err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}

	files := http.FileServer(http.Dir(*dir))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &status{ResponseWriter: w, code: http.StatusOK}
		defer func() { log.Printf("%s %s %d", r.Method, r.URL.Path, rec.code) }()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(rec, "read-only", http.StatusMethodNotAllowed)
			return
		}
		if *user != "" {
			u, p, ok := r.BasicAuth()
			// Both compared in constant time, and both always compared.
			uok := subtle.ConstantTimeCompare([]byte(u), []byte(*user)) == 1
			pok := subtle.ConstantTimeCompare([]byte(p), []byte(password)) == 1
			if !ok || !uok || !pok {
				rec.Header().Set("WWW-Authenticate", `Basic realm="chartrepo"`)
				http.Error(rec, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		files.ServeHTTP(rec, r)
	})

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		log.Fatal(err)
	}
	got := ln.Addr().(*net.TCPAddr).Port
	// Written once listening (and atomically), so a reader that sees the
	// file can connect at once.
	if *portFile != "" {
		tmp := *portFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(got)+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(tmp, *portFile); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("serving %s on http://127.0.0.1:%d", *dir, got)
	log.Fatal(http.Serve(ln, handler))
}

// status remembers the code a handler answered with, for the log.
type status struct {
	http.ResponseWriter
	code int
}

func (s *status) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}
