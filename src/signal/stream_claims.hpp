#pragma once
// Which node may publish a stream name (cluster mode): before a publish
// starts, its front end claims the name; a name live on another node is
// refused there with 409, naming the owner. Without a cluster there is no
// StreamClaims and every publish goes straight to the engines.
#include <functional>
#include <string>

namespace lss::signal {

struct StreamClaim {
  enum class Outcome {
    kOurs,       // this node holds the name's lease: publish here
    kElsewhere,  // another node does: refuse
    kUnknown,    // the cluster cannot be asked (Redis down): publish here, claim it later
  };
  Outcome outcome = Outcome::kUnknown;
  std::string owner;      // kElsewhere: the owner's NODE_ID
  std::string owner_url;  // and its NODE_URL, when this node knows it
};

class StreamClaims {
 public:
  using Done = std::function<void(const StreamClaim&)>;
  virtual ~StreamClaims() = default;
  // Takes the lease of `stream` for this node, or learns who holds it.
  // `done` runs later, on the control thread. A claim answered kOurs or
  // kUnknown must be followed by exactly one settle() of the name.
  virtual void claim(const std::string& stream, Done done) = 0;
  // The claimed publish went live here (`live`), or did not. A name that
  // is neither live here nor claimed by another pending publish goes back.
  // Callable from any thread.
  virtual void settle(const std::string& stream, bool live) = 0;
  // The stream ended here: its lease goes back unless a new claim of the
  // name is pending. Callable from any thread.
  virtual void ended(const std::string& stream) = 0;
  // Where `stream` is live: kOurs (this node), kElsewhere (with the owner
  // and, when known, its URL) or kUnknown (nowhere, or Redis is away).
  // Takes nothing. `done` runs later, on the control thread; any thread.
  virtual void locate(const std::string& stream, Done done) = 0;
};

// "stream 'x' is live on node 'b' (http://...)": the 409's reason.
inline std::string live_elsewhere_reason(const std::string& stream, const StreamClaim& c) {
  return "stream '" + stream + "' is live on node '" + c.owner + "'" +
         (c.owner_url.empty() ? std::string() : " (" + c.owner_url + ")");
}

}  // namespace lss::signal
