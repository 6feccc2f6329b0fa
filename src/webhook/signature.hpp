#pragma once
// The signature receivers check: HMAC-SHA256 of the raw body with
// WEBHOOK_SECRET, sent as `X-Signature: sha256=<lowercase hex>` (the GitHub
// style, so existing verification code fits).
#include <string>
#include <string_view>

namespace lss::webhook {

std::string hmac_sha256_hex(std::string_view key, std::string_view message);
// "sha256=<hex>", the X-Signature header's value.
std::string signature_header_value(std::string_view secret, std::string_view body);

}  // namespace lss::webhook
