#pragma once
// The entity tag of a WHIP/WHEP session resource (RFC 9725 §4.3: PATCH
// requests carry it in If-Match). A session's ICE generation is what a
// PATCH can change, so the tag is derived from the session id and its
// current local ICE ufrag: it changes with every ICE restart and needs no
// state of its own. Opaque to clients (a hash, not the ufrag itself).
#include <string>
#include <string_view>

namespace lss::sfu {

// A strong entity tag, quoted as it goes in the ETag header: "\"<20 hex>\"".
std::string session_etag(std::string_view session_id, std::string_view local_ice_ufrag);

}  // namespace lss::sfu
