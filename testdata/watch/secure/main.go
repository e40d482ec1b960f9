// secure: net/http/pprof behind TLS (a certificate for 127.0.0.1 from a throwaway CA, whose
// certificate is written to -ca-out so the client can trust it), a bearer token (-token) and a required header
// (-header NAME=VALUE), as pprof endpoints are exposed in production. With -client-out DIR it
// also demands a client certificate signed by that CA (mutual TLS, as a service mesh does) and
// writes one to DIR/client.pem and DIR/client.key. /seen reports what the last request carried.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"goleash.test/watch/internal/svc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (127.0.0.1 only)")
	caOut := flag.String("ca-out", "", "write the server's certificate (PEM) here")
	token := flag.String("token", "", "bearer token every request must carry")
	header := flag.String("header", "", "NAME=VALUE header every request must carry")
	clientOut := flag.String("client-out", "", "require client certificates; write one (client.pem, client.key) here")
	flag.Parse()

	// A CA, and a server certificate for 127.0.0.1 that it signs: verifiers refuse a CA
	// certificate used as the server's own.
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "goleash test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		log.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		log.Fatal(err)
	}
	if *caOut != "" {
		if err := os.WriteFile(*caOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		log.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		log.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		log.Fatal(err)
	}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{pair}}
	if *clientOut != "" {
		clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			log.Fatal(err)
		}
		clientTmpl := &x509.Certificate{
			SerialNumber: big.NewInt(3),
			Subject:      pkix.Name{CommonName: "goleash watch"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, caCert, &clientKey.PublicKey, caKey)
		if err != nil {
			log.Fatal(err)
		}
		clientKeyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
		if err != nil {
			log.Fatal(err)
		}
		writePEM := func(file, kind string, der []byte) {
			path := *clientOut + "/" + file
			if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
				log.Fatal(err)
			}
		}
		writePEM("client.pem", "CERTIFICATE", clientDER)
		writePEM("client.key", "PRIVATE KEY", clientKeyDER)
		pool := x509.NewCertPool()
		pool.AddCert(caCert)
		tlsConfig.ClientCAs = pool
		tlsConfig.ClientAuth = tls.RequireAndVerifyClientCert
	}
	name, value, _ := strings.Cut(*header, "=")
	var seen string
	guard := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/seen" {
				fmt.Fprint(w, seen)
				return
			}
			seen = r.Header.Get("Authorization") + "|" + r.Header.Get(name)
			if *token != "" && r.Header.Get("Authorization") != "Bearer "+*token {
				http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
				return
			}
			if name != "" && r.Header.Get(name) != value {
				http.Error(w, "missing header "+name, http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	ln := svc.Listen(*addr)
	server := &http.Server{Handler: guard(http.DefaultServeMux), TLSConfig: tlsConfig}
	go func() {
		if err := server.ServeTLS(ln, "", ""); err != nil {
			log.Print(err)
		}
	}()
	fmt.Printf("listening on https://%s\n", ln.Addr())
	svc.ExitOnStdinClose()
}
