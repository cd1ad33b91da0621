// AcmeClient's account flows (RFC 8555 §7.3): create or find an account (with external
// account binding), read, update and deactivate it, roll its key over (§7.3.5), and the
// key authorizations derived from its key (§8.1).
#include "client/acme_client.h"
#include "client/acme_client_internal.h"
#include "client/url_reference.h"
#include "core/jose.h"

namespace attestlab::client {

using acme_detail::expect_ok;

Result<void> AcmeClient::need_account() const {
  if (!account_key_ || account_url_.empty()) {
    return Error::make(kErrorClientUsage, "no account: call new_account or use_account first");
  }
  return ok();
}

void AcmeClient::set_account(std::shared_ptr<const JwsSigner> key, std::string url) {
  auto thumbprint = key ? key->thumbprint() : Result<std::string>(std::string());
  account_thumbprint_ = thumbprint.ok() ? *thumbprint : std::string();
  account_key_ = std::move(key);
  account_url_ = std::move(url);
}

// --- accounts -----------------------------------------------------------------------------

Result<Account> AcmeClient::new_account(const pki::PrivateKey& key, const NewAccountRequest& req) {
  return new_account(make_signer(key), req);
}

Result<Account> AcmeClient::new_account(std::shared_ptr<const JwsSigner> key,
                                        const NewAccountRequest& req) {
  if (!key) return Error::make(kErrorClientUsage, "no account key");
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  Json payload = Json::object();
  if (!req.contact.empty()) payload["contact"] = req.contact;
  if (req.terms_of_service_agreed) payload["termsOfServiceAgreed"] = *req.terms_of_service_agreed;
  if (req.only_return_existing) payload["onlyReturnExisting"] = true;
  if (req.eab) {
    const Json eab_header = {{"alg", "HS256"}, {"kid", req.eab->kid}, {"url", dir->new_account}};
    payload["externalAccountBinding"] =
        jose::sign_hs256(eab_header, key->jwk().dump(), req.eab->mac_key);
  }
  auto r = signed_post(dir->new_account, payload.dump(), *key, KeyId::Jwk);
  auto json = expect_json(r);
  if (!json.ok()) return json.error();
  auto url = location_url(*r, dir->new_account);
  if (!url.ok()) return url.error();
  auto account = Account::from_json(*json, *url);
  if (!account.ok()) return account.error();
  account->created = r->status == 201;
  set_account(std::move(key), *url);
  return account;
}

void AcmeClient::use_account(std::shared_ptr<const JwsSigner> key, std::string account_url) {
  set_account(std::move(key), std::move(account_url));
}

Result<Account> AcmeClient::get_account() {
  ATTESTLAB_TRY(need_account());
  auto json = expect_json(post(account_url_, std::nullopt));
  if (!json.ok()) return json.error();
  return Account::from_json(*json, account_url_);
}

Result<Account> AcmeClient::update_account(const std::vector<std::string>& contact) {
  ATTESTLAB_TRY(need_account());
  auto json = expect_json(post(account_url_, Json{{"contact", contact}}));
  if (!json.ok()) return json.error();
  return Account::from_json(*json, account_url_);
}

Result<Account> AcmeClient::deactivate_account() {
  ATTESTLAB_TRY(need_account());
  auto json = expect_json(post(account_url_, Json{{"status", "deactivated"}}));
  if (!json.ok()) return json.error();
  return Account::from_json(*json, account_url_);
}

Result<void> AcmeClient::key_change(const pki::PrivateKey& new_key) {
  return key_change(make_signer(new_key));
}

Result<void> AcmeClient::key_change(std::shared_ptr<const JwsSigner> new_key) {
  if (!new_key) return Error::make(kErrorClientUsage, "no new key");
  ATTESTLAB_TRY(need_account());
  auto dir = directory();
  if (!dir.ok()) return dir.error();
  if (dir->key_change.empty()) {
    return Error::make(kErrorUnexpectedResponse, "the directory has no keyChange");
  }
  const Json inner_header = {
      {"alg", new_key->alg()}, {"jwk", new_key->jwk()}, {"url", dir->key_change}};
  const Json inner_payload = {{"account", account_url_}, {"oldKey", account_key_->jwk()}};
  auto inner = sign_jws(inner_header, inner_payload.dump(), *new_key);
  if (!inner.ok()) return inner.error();
  ATTESTLAB_TRY(
      expect_ok(signed_post(dir->key_change, inner->to_json().dump(), *account_key_, KeyId::Kid)));
  set_account(std::move(new_key), account_url_);
  return ok();
}

std::string AcmeClient::key_authorization(const std::string& token) const {
  return client::key_authorization(token, account_thumbprint_);
}

std::string AcmeClient::dns01_txt_value(const std::string& token) const {
  return client::dns01_txt_value(key_authorization(token));
}

}  // namespace attestlab::client
