/*
 * unit_pki.h - throwaway certificates for the TLS tests (test_tls.c,
 * test_limits_wire.c): EC keys, a CA and leaves for localhost and
 * 127.0.0.1, made with OpenSSL in memory. Header-only, like unit.h.
 */
#ifndef POSTBOTE_UNIT_PKI_H
#define POSTBOTE_UNIT_PKI_H

#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static inline void
cert_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A CA (ca) or a leaf for localhost and 127.0.0.1, signed by issuer's
 * ikey; issuer NULL: self-signed with key. */
static inline X509 *
cert_make(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
    int ca)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	static long serial = 1;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 30);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	X509_set_pubkey(x, key);
	cert_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (ca)
		cert_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	else
		cert_ext(x, x, NID_subject_alt_name,
		    "DNS:localhost,IP:127.0.0.1");
	assert_true(X509_sign(x, issuer != NULL ? ikey : key,
	    EVP_sha256()) > 0);
	return x;
}

static inline void
cert_save(X509 *x, const char *path)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, x), 1);
	assert_int_equal(fclose(fp), 0);
}

#endif
