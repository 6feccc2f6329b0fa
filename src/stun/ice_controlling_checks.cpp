#include "stun/ice_controlling_checks.hpp"

#include <openssl/rand.h>

#include <algorithm>

#include "stun/stun_binding_client.hpp"

namespace lss {
namespace {

// RFC 8445 §5.1.2.1 for a peer-reflexive local candidate: type preference
// 110, local preference 65535, component 1.
constexpr uint32_t kPrflxPriority = (110u << 24) | (65535u << 8) | (256u - 1u);

uint64_t random_u64() {
  uint64_t v = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

}  // namespace

// RFC 7675 §5.1: 4-6 s by default, at random, so that checks do not line up.
Duration IceControllingChecks::consent_interval() const {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(consent_.interval).count();
  const int64_t spread = std::max<int64_t>(1, ms * 2 / 5);
  return std::chrono::milliseconds(ms - ms / 5 + int64_t(random_u64() % uint64_t(spread + 1)));
}

IceControllingChecks::IceControllingChecks(IceCredentials local, IceCredentials remote,
                                           std::vector<SocketAddress> candidates, Timestamp now)
    : IceControllingChecks(std::move(local), std::move(remote), std::move(candidates), now,
                           Consent{}) {}

IceControllingChecks::IceControllingChecks(IceCredentials local, IceCredentials remote,
                                           std::vector<SocketAddress> candidates, Timestamp now,
                                           Consent consent)
    : local_(std::move(local)),
      remote_(std::move(remote)),
      consent_(consent),
      tie_breaker_(random_u64()),
      started_(now),
      next_pace_(now) {
  for (auto& c : candidates) pairs_.push_back({c});
  if (pairs_.empty()) error_ = "the peer offers no candidate";
}

Bytes IceControllingChecks::make_check(const TransactionId& id, bool nominate) const {
  StunBuilder b(stun::kBindingRequest, id);
  // The lite peer's ufrag first: it is the receiver of the check.
  b.add_string(stun::kAttrUsername, remote_.ufrag + ":" + local_.ufrag);
  b.add_u32(stun::kAttrPriority, kPrflxPriority);
  b.add_u64(stun::kAttrIceControlling, tie_breaker_);
  if (nominate) b.add_flag(stun::kAttrUseCandidate);
  return b.finish(remote_.pwd);
}

void IceControllingChecks::start(size_t pair, bool nominate, bool consent, Timestamp now) {
  Transaction t;
  t.id = random_transaction_id();
  t.pair = pair;
  t.nominate = nominate;
  t.consent = consent;
  t.next_send = now;
  t.rto = kInitialRto;
  // A check's own give-up (RFC 8445 §14.3 leaves Rc to us): 7 sends.
  t.deadline = now + kInitialRto * 127;
  t.request = make_check(t.id, nominate);
  pending_.push_back(std::move(t));
}

std::vector<std::pair<Bytes, SocketAddress>> IceControllingChecks::due(Timestamp now) {
  std::vector<std::pair<Bytes, SocketAddress>> out;
  if (failed(now)) return out;
  // A new check on the next pair not yet tried, one per pacing interval.
  if (!selected_ && !nominating_ && now >= next_pace_) {
    for (size_t i = 0; i < pairs_.size(); ++i) {
      const size_t p = (next_pair_ + i) % pairs_.size();
      const bool busy = std::any_of(pending_.begin(), pending_.end(),
                                    [p](const Transaction& t) { return t.pair == p; });
      if (pairs_[p].failed || busy) continue;
      start(p, false, false, now);
      next_pair_ = p + 1;
      next_pace_ = now + kPacing;
      break;
    }
  }
  if (selected_ && now >= next_consent_) {
    start(*nominating_, false, true, now);
    next_consent_ = now + consent_interval();
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now >= it->deadline) {
      if (!it->consent) pairs_[it->pair].failed = true;
      if (it->nominate) nominating_.reset();
      it = pending_.erase(it);
      continue;
    }
    if (now >= it->next_send) {
      out.emplace_back(it->request, pairs_[it->pair].remote);
      it->next_send = now + it->rto;
      it->rto *= 2;
    }
    ++it;
  }
  return out;
}

Timestamp IceControllingChecks::next_event() const {
  Timestamp next = started_ + kConnectTimeout;
  if (selected_) next = std::max(next, next_consent_);
  if (!selected_ && !nominating_) next = std::min(next, next_pace_);
  for (const auto& t : pending_) next = std::min({next, t.next_send, t.deadline});
  return next;
}

bool IceControllingChecks::handle_response(ByteSpan datagram, const SocketAddress& from,
                                           Timestamp now) {
  auto msg = StunMessage::parse(datagram);
  if (!msg.ok() || msg->method() != stun::kMethodBinding) return false;
  const auto cls = msg->message_class();
  if (cls != StunClass::kSuccess && cls != StunClass::kError) return false;
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const Transaction& t) { return t.id == msg->transaction_id(); });
  if (it == pending_.end()) return false;
  // RFC 8445 §7.2.5.2.1: the answer must come from where the check went.
  if (!(pairs_[it->pair].remote == from)) return false;
  if (!msg->verify_fingerprint() || !msg->verify_message_integrity(remote_.pwd)) {
    return false;  // not the peer's (a forgery, or a wrong password): let it time out
  }
  Transaction t = std::move(*it);
  pending_.erase(it);
  if (cls == StunClass::kError) {
    if (!t.consent) pairs_[t.pair].failed = true;
    if (t.nominate) nominating_.reset();
    error_ = "the peer refused a check with " + std::to_string(msg->error_code().value_or(0));
    return true;
  }
  if (t.consent) {
    last_consent_ = now;
    return true;
  }
  pairs_[t.pair].succeeded = true;
  if (t.nominate) {
    selected_ = pairs_[t.pair].remote;
    last_consent_ = now;
    next_consent_ = now + consent_interval();
  } else if (!nominating_ && !selected_) {
    // Regular nomination: the first pair that works, checked again with USE-CANDIDATE.
    nominating_ = t.pair;
    start(t.pair, true, false, now);
  }
  return true;
}

bool IceControllingChecks::failed(Timestamp now) const {
  if (pairs_.empty()) return true;
  if (selected_) return now - last_consent_ >= consent_.timeout;
  if (now - started_ >= kConnectTimeout) return true;
  return std::all_of(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.failed; });
}

}  // namespace lss
