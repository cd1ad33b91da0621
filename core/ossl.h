// RAII handles for every OpenSSL type attestlab touches (BoringSSL's bssl::UniquePtr
// idea). Only <openssl/types.h> is included here, so headers stay light; the deleters
// live in ossl.cpp. A handle owns exactly one reference.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>

// <openssl/types.h> leaves these out; the typedefs repeat OpenSSL's own exactly (C++
// allows an identical typedef twice), so including the full OpenSSL headers later is fine.
typedef struct X509_req_st X509_REQ;
typedef struct X509_extension_st X509_EXTENSION;
typedef struct ECDSA_SIG_st ECDSA_SIG;
typedef struct stack_st_GENERAL_NAME GENERAL_NAMES;

namespace attestlab::ossl {

template <class T>
struct Deleter {
  void operator()(T* p) const noexcept;
};

template <class T>
using Ptr = std::unique_ptr<T, Deleter<T>>;

using PKey = Ptr<EVP_PKEY>;
using PKeyCtx = Ptr<EVP_PKEY_CTX>;
using MdCtx = Ptr<EVP_MD_CTX>;
using X509Ptr = Ptr<X509>;
using ReqPtr = Ptr<X509_REQ>;
using BioPtr = Ptr<BIO>;
using StorePtr = Ptr<X509_STORE>;
using StoreCtxPtr = Ptr<X509_STORE_CTX>;
using BnPtr = Ptr<BIGNUM>;
using EcdsaSigPtr = Ptr<ECDSA_SIG>;
using ExtPtr = Ptr<X509_EXTENSION>;
using AsnObjPtr = Ptr<ASN1_OBJECT>;
using GeneralNamesPtr = Ptr<GENERAL_NAMES>;
using X509NamePtr = Ptr<X509_NAME>;
using ParamBldPtr = Ptr<OSSL_PARAM_BLD>;
// Every ASN1_STRING type (ASN1_OCTET_STRING, ASN1_INTEGER, ASN1_BIT_STRING ...) is one
// struct in OpenSSL, so this one handle owns any of them.
using Asn1StringPtr = Ptr<ASN1_STRING>;
// Memory OpenSSL allocated for the caller (i2d_* output, OPENSSL_memdup): OPENSSL_free.
using BufPtr = Ptr<unsigned char>;

// The last OpenSSL error queue entries as text (and clears the queue).
std::string last_error();

}  // namespace attestlab::ossl
