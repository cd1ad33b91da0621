// Request authentication (RFC 8555 §6.2–§6.5) and the parsed-key cache behind it.
#include <algorithm>
#include <cctype>
#include <optional>

#include "core/bytes.h"
#include "server/acme/acme_context.h"
#include "server/acme/problem.h"
#include "server/faults.h"

namespace attestlab::server {

Result<std::optional<AccountCache::Entry>> AccountCache::lookup(Store& store,
                                                                const std::string& id) {
  auto now = std::chrono::steady_clock::now();
  std::shared_ptr<const jose::Jwk> known_key;
  std::string known_thumbprint;
  {
    std::shared_lock lock(mutex_);
    auto it = slots_.find(id);
    if (it != slots_.end()) {
      if (now - it->second.loaded < kFreshness) return std::optional<Entry>(it->second.entry);
      known_key = it->second.entry.key;
      known_thumbprint = it->second.entry.account.thumbprint;
    }
  }
  auto loaded = store.account_by_id(id);
  if (!loaded) return loaded.error();
  if (!loaded->has_value()) return std::optional<Entry>();
  Entry entry{std::move(**loaded), nullptr};
  if (known_key && known_thumbprint == entry.account.thumbprint) {
    entry.key = std::move(known_key);
  } else {
    auto parsed = jose::Jwk::parse(entry.account.jwk);
    if (!parsed)
      return Error::make("serverInternal",
                         "stored account key is unusable: " + parsed.error().detail);
    entry.key = std::make_shared<const jose::Jwk>(std::move(*parsed));
  }
  std::unique_lock lock(mutex_);
  if (slots_.size() >= kMaxEntries) slots_.clear();  // crude bound; refills on demand
  slots_[id] = Slot{entry, now};
  return std::optional<Entry>(std::move(entry));
}

void AccountCache::remember(const Account& account, std::shared_ptr<const jose::Jwk> key) {
  auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  if (slots_.size() >= kMaxEntries) slots_.clear();
  slots_[account.id] = Slot{Entry{account, std::move(key)}, now};
}

bool InFlightChallenges::begin(const std::string& challenge_id) {
  std::lock_guard lock(mutex_);
  return ids_.insert(challenge_id).second;
}

void InFlightChallenges::end(const std::string& challenge_id) {
  std::lock_guard lock(mutex_);
  ids_.erase(challenge_id);
}

namespace {

// "application/jose+json; charset=..." -> "application/jose+json"
std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  type.erase(type.begin(), std::find_if(type.begin(), type.end(), not_space));
  type.erase(std::find_if(type.rbegin(), type.rend(), not_space).base(), type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

bool is_supported_alg(const std::string& alg) {
  const auto& algs = supported_jws_algorithms();
  return std::find(algs.begin(), algs.end(), alg) != algs.end();
}

// For a JWS that failed to parse (an "alg":"none" JWS has an empty signature): the
// protected header's alg when it is one we refuse, so the client learns the real reason.
std::optional<std::string> unsupported_alg_of(const std::string& body) {
  auto outer = parse_json(body);
  if (!outer || !outer->is_object()) return std::nullopt;
  const std::string* protected_b64 = get_string(*outer, "protected");
  if (!protected_b64) return std::nullopt;
  auto decoded = base64url_decode(*protected_b64);
  if (!decoded) return std::nullopt;
  auto header = parse_json(to_string(*decoded));
  if (!header || !header->is_object()) return std::nullopt;
  const std::string* alg = get_string(*header, "alg");
  if (!alg || is_supported_alg(*alg)) return std::nullopt;
  return *alg;
}

#ifdef ATTESTLAB_FAULTS
// accept_alg_none: a flattened JWS with an empty signature, which parse_flattened refuses.
Result<jose::Jws> parse_unsigned(const std::string& body) {
  auto outer = parse_json(body);
  if (!outer || !outer->is_object()) return Error::make("malformed", "not a JWS");
  const std::string* protected_b64 = get_string(*outer, "protected");
  const std::string* payload_b64 = get_string(*outer, "payload");
  if (!protected_b64 || !payload_b64) return Error::make("malformed", "not a JWS");
  auto header_bytes = base64url_decode(*protected_b64);
  auto payload = base64url_decode(*payload_b64);
  if (!header_bytes || !payload) return Error::make("malformed", "not a JWS");
  auto header = parse_json(to_string(*header_bytes));
  if (!header || !header->is_object() || header->value("alg", "") != "none")
    return Error::make("malformed", "not a JWS");
  jose::Jws jws;
  jws.protected_b64 = *protected_b64;
  jws.payload_b64 = *payload_b64;
  jws.header = std::move(*header);
  jws.payload = std::move(*payload);
  return jws;
}
#endif

}  // namespace

Result<SignedRequest> authenticate(AcmeContext& ctx, const http::Request& request, KeyMode mode,
                                   RequestInfo& info) {
  // Content-Type is a single-value field (RFC 9110 §5.3): two are refused, not chosen between.
  if (request.headers.count("content-type") > 1) {
    return Error::make("malformed", "more than one Content-Type header field");
  }
  auto content_type = request.header("content-type");
  if ((!content_type || media_type(*content_type) != "application/jose+json") &&
      !ATTESTLAB_FAULT(skip_content_type_check)) {
    return Error::make("malformed", "Content-Type must be application/jose+json", 415);
  }
  auto jws = jose::parse_flattened(std::string_view(request.body));
#ifdef ATTESTLAB_FAULTS
  if (!jws && ATTESTLAB_FAULT(accept_alg_none)) jws = parse_unsigned(request.body);
#endif
  if (!jws) {
    if (auto alg = unsupported_alg_of(request.body)) {
      return Error::make("badSignatureAlgorithm",
                         "JWS algorithm \"" + *alg + "\" is not supported");
    }
    return Error::make("malformed", "invalid JWS: " + jws.error().detail);
  }

  const Json& header = jws->header;
  const std::string* alg = get_string(header, "alg");
  if (!alg || alg->empty()) return Error::make("malformed", "JWS protected header has no \"alg\"");
  // RFC 8555 §6.5: a missing nonce is badNonce; §6.5.1: one that is not base64url is
  // malformed.
  const std::string* nonce = get_string(header, "nonce");
  static const std::string kNoNonce;
  if (!nonce && ATTESTLAB_FAULT(skip_nonce_check)) nonce = &kNoNonce;
  if (!nonce) {
    if (header.contains("nonce")) return Error::make("malformed", "JWS \"nonce\" must be a string");
    return Error::make("badNonce", "JWS protected header has no \"nonce\"");
  }
  if (!ATTESTLAB_FAULT(skip_nonce_check) && (nonce->empty() || !base64url_decode(*nonce))) {
    return Error::make("malformed", "JWS \"nonce\" is not base64url");
  }
  const std::string* url = get_string(header, "url");
  if (!url) return Error::make("malformed", "JWS protected header has no \"url\"");
  bool has_jwk = header.contains("jwk");
  bool has_kid = header.contains("kid");
  if (has_jwk == has_kid) {
    return Error::make("malformed",
                       "JWS protected header must have exactly one of \"jwk\" and \"kid\"");
  }
  if (mode == KeyMode::Jwk && has_kid) {
    return Error::make("malformed", "this resource requires a \"jwk\" header, not \"kid\"");
  }
  if (mode == KeyMode::Kid && has_jwk) {
    return Error::make("malformed", "this resource requires a \"kid\" header, not \"jwk\"");
  }
  if (*url != ctx.urls.base + request.target && !ATTESTLAB_FAULT(skip_url_check)) {
    return Error::make("unauthorized",
                       "JWS \"url\" header \"" + *url + "\" does not match the request URL");
  }
  bool unsigned_accepted = *alg == "none" && ATTESTLAB_FAULT(accept_alg_none);
  if (!is_supported_alg(*alg) && !unsigned_accepted) {
    return Error::make("badSignatureAlgorithm", "JWS algorithm \"" + *alg + "\" is not supported");
  }

  SignedRequest out;
  out.url = *url;
  if (has_jwk) {
    auto jwk = jose::Jwk::parse(header["jwk"]);
    if (!jwk) return jwk.error();
    out.key = std::make_shared<const jose::Jwk>(std::move(*jwk));
  } else {
    const std::string* kid = get_string(header, "kid");
    if (!kid) return Error::make("malformed", "JWS \"kid\" must be a string");
    const std::string& prefix = ctx.urls.account_prefix;
    if (kid->size() <= prefix.size() || kid->compare(0, prefix.size(), prefix) != 0 ||
        kid->find('/', prefix.size()) != std::string::npos) {
      return Error::make("accountDoesNotExist", "\"kid\" is not an account URL of this server");
    }
    auto found = ctx.accounts.lookup(*ctx.store, kid->substr(prefix.size()));
    if (!found) return found.error();
    if (!found->has_value()) return Error::make("accountDoesNotExist", "no account at " + *kid);
    out.key = std::move((*found)->key);
    out.account = std::move((*found)->account);
    info.account_id = out.account->id;
  }

  if (!unsigned_accepted && !ATTESTLAB_FAULT(skip_jws_signature_check)) {
    ATTESTLAB_TRY(jose::verify(*jws, out.key->key()));
  }

  auto payload = jws->payload_json();
  if (!payload)
    return Error::make("malformed", "JWS payload is not JSON: " + payload.error().detail);
  if (payload->has_value() && !(*payload)->is_object()) {
    return Error::make("malformed", "JWS payload must be a JSON object");
  }
  // RFC 8555 §7.3.6: a deactivated account's requests fail with 401.
  if (out.account && out.account->status != "valid") {
    return Error::make("unauthorized", "account is " + out.account->status, 401);
  }

  // Last, so that a request failing authentication leaves its nonce usable.
  if (!ATTESTLAB_FAULT(skip_nonce_check)) {
    auto fresh = ctx.nonces->consume(*nonce);
    if (!fresh) return fresh.error();
    bool replay_accepted = ATTESTLAB_FAULT(accept_reused_nonce) && ctx.nonces->authentic(*nonce);
    if (!*fresh && !replay_accepted) {
      return Error::make("badNonce", "JWS nonce is invalid, expired or already used");
    }
  }

  out.payload = std::move(*payload);
  out.jws = std::move(*jws);
  return out;
}

Result<void> require_post_as_get(const SignedRequest& request) {
  if (request.payload.has_value()) {
    return Error::make("malformed", "this resource is fetched with POST-as-GET (empty payload)");
  }
  return ok();
}

Result<void> require_owner(const SignedRequest& request, const std::string& owner_account_id) {
  if (ATTESTLAB_FAULT(skip_account_ownership_check)) return ok();
  if (!request.account || request.account->id != owner_account_id) {
    return Error::make("unauthorized", "this resource belongs to another account");
  }
  return ok();
}

}  // namespace attestlab::server
