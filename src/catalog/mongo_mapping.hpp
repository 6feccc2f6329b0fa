#pragma once
// How stream and clip records look as MongoDB documents (libbson), kept apart
// from the connection so the mapping is unit-tested without a server. Field
// names match the REST API's; `_id` is the stream id, or "<stream id>/<index>".
#include <bson/bson.h>

#include <string>

#include "catalog/catalog.hpp"

namespace lss::catalog {

bson_t* stream_document(const StreamRecord& s);  // caller destroys
bson_t* clip_document(const ClipRecord& c);
bool stream_from_document(const bson_t* doc, StreamRecord& out);
bool clip_from_document(const bson_t* doc, ClipRecord& out);

// The connection URL from the seed's variables: MONGO_URL as is, else
// mongodb(+srv for Atlas hosts)://USER:PASSWORD@HOST/.
std::string mongo_url(const std::string& url, const std::string& user, const std::string& password,
                      const std::string& host);

}  // namespace lss::catalog
