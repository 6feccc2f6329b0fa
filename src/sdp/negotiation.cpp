#include "sdp/negotiation.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/random.hpp"
#include "sdp/bundle.hpp"
#include "sdp/sdp_writer.hpp"
#include "sdp/simulcast.hpp"

namespace lss::sdp {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

NegotiationError bad(int status, std::string reason) {
  return NegotiationError{status, std::move(reason)};
}

// Canonical codec name for the codecs the SFU forwards and records.
std::optional<std::string> supported_codec(const RtpMap& m, bool video) {
  if (!video) {
    if (iequals(m.encoding, "opus") && m.clock_rate == 48000) return "opus";
    return std::nullopt;
  }
  if (m.clock_rate != 90000) return std::nullopt;
  for (const char* c : {"VP8", "VP9", "H264", "AV1"}) {
    if (iequals(m.encoding, c)) return std::string(c);
  }
  return std::nullopt;
}

bool h264_mode1(std::string_view fmtp) {
  auto p = parse_fmtp(fmtp);
  auto it = p.find("packetization-mode");
  return it != p.end() && it->second == "1";
}

std::optional<uint8_t> rtx_for(const MediaSection& m, uint8_t pt) {
  for (const auto& r : m.rtpmaps()) {
    if (!iequals(r.encoding, "rtx")) continue;
    auto f = parse_fmtp(m.fmtp(r.payload_type));
    if (f.count("apt") && f["apt"] == std::to_string(pt)) return r.payload_type;
  }
  return std::nullopt;
}

// Payload types of the m-line in offer order (the offerer's preference).
std::vector<uint8_t> format_order(const MediaSection& m) {
  std::vector<uint8_t> out;
  for (const auto& f : m.formats) {
    unsigned v = 0;
    if (parse_number(f, v) && v <= 127) out.push_back(uint8_t(v));  // RTP payload types are 7 bits
  }
  return out;
}

std::optional<CodecParams> pick_codec(const MediaSection& m, bool video) {
  for (uint8_t pt : format_order(m)) {
    auto map = m.rtpmap(pt);
    if (!map) continue;
    auto name = supported_codec(*map, video);
    if (!name) continue;
    const std::string fmtp = m.fmtp(pt);
    if (*name == "H264" && !h264_mode1(fmtp)) continue;
    CodecParams c;
    c.payload_type = pt;
    c.name = *name;
    c.clock_rate = map->clock_rate;
    c.channels = map->channels;
    c.fmtp = fmtp;
    c.rtcp_fbs = m.rtcp_fbs(pt);
    if (video) c.rtx_payload_type = rtx_for(m, pt);
    return c;
  }
  return std::nullopt;
}

std::vector<std::string> filter_fbs(const std::vector<std::string>& offered, bool video, bool twcc,
                                    bool remb) {
  std::vector<std::string> out;
  for (const auto& fb : offered) {
    const bool keep = video ? (fb == "nack" || fb == "nack pli" || fb == "ccm fir" ||
                               (remb && fb == "goog-remb") || (twcc && fb == "transport-cc"))
                            : (twcc && fb == "transport-cc");
    if (keep && std::find(out.begin(), out.end(), fb) == out.end()) out.push_back(fb);
  }
  return out;
}

Result<RemoteTransport, NegotiationError> remote_transport(const OfferBundle& bundle,
                                                           const MediaSection& m) {
  RemoteTransport r;
  auto ufrag = bundle.transport_attribute(m, "ice-ufrag");
  auto pwd = bundle.transport_attribute(m, "ice-pwd");
  if (!ufrag || ufrag->empty() || !pwd || pwd->empty()) {
    return bad(400, "offer has no a=ice-ufrag / a=ice-pwd");
  }
  auto fp = parse_fingerprint(bundle.transport_attribute(m, "fingerprint").value_or(""));
  if (!fp) return bad(400, "offer has no a=fingerprint");
  r.ice_ufrag = *ufrag;
  r.ice_pwd = *pwd;
  r.fingerprint_algorithm = fp->algorithm;
  r.fingerprint_value = fp->value;
  const std::string setup = bundle.transport_attribute(m, "setup").value_or("actpass");
  if (setup == "passive") {
    r.our_role = DtlsRole::kClient;
  } else if (setup == "actpass" || setup == "active") {
    r.our_role = DtlsRole::kServer;
  } else {
    return bad(400, "offer has an invalid a=setup:" + setup);
  }
  return r;
}

bool is_av(const MediaSection& m) {
  return m.media == "audio" || m.media == "video";
}

// Media the server can carry: DTLS-SRTP (UDP/TLS/RTP/SAVPF, its TCP form, or
// the legacy RTP/SAVPF). Plain RTP/AVP sections are rejected.
bool is_secure_rtp(const MediaSection& m) {
  return m.proto.find("SAVP") != std::string::npos;
}

// rtcp-mux-only (RFC 8858) implies rtcp-mux; with bundle-only sections the
// attribute may sit in the tagged section alone.
bool muxes_rtcp(const OfferBundle& bundle, const MediaSection& m) {
  return bundle.transport_attribute(m, "rtcp-mux").has_value() ||
         bundle.transport_attribute(m, "rtcp-mux-only").has_value();
}

// The m-line of an accepted section: the offer's media and proto, echoed
// exactly (RFC 8829 §5.3.1), on the discard port of an ICE-lite answer.
std::string m_line(const MediaSection& m, const std::string& formats) {
  return "m=" + m.media + " 9 " + m.proto + " " + formats + "\r\n";
}

// The answer's header: BUNDLE group, session-level transport, and
// extmap-allow-mixed when the offer allows it at session level.
SessionHeader answer_header(const SessionDescription& offer, const OfferBundle& bundle,
                            const std::vector<const MediaSection*>& accepted,
                            const LocalTransport& local, DtlsRole our_role) {
  SessionHeader h;
  h.bundle = bundle.answer_group(accepted);
  h.extmap_allow_mixed = offer.attribute("extmap-allow-mixed").has_value();
  h.transport = &local;
  h.setup = setup_for(our_role);
  return h;
}

// Media-level attributes echoed from the offer's section.
std::string echoed_media_lines(const MediaSection& m) {
  std::string s;
  if (m.has_attribute("rtcp-rsize")) s += "a=rtcp-rsize\r\n";
  if (m.has_attribute("extmap-allow-mixed")) s += "a=extmap-allow-mixed\r\n";
  return s;
}

}  // namespace

std::optional<size_t> find_data_channel_section(const SessionDescription& sd) {
  const OfferBundle bundle(sd);
  for (size_t i = 0; i < sd.media.size(); ++i) {
    const MediaSection& m = sd.media[i];
    if (m.media != "application" || !bundle.usable(m) || !m.has_attribute("mid")) continue;
    if (m.proto.find("SCTP") == std::string::npos) continue;
    if (std::find(m.formats.begin(), m.formats.end(), "webrtc-datachannel") == m.formats.end())
      continue;
    return i;
  }
  return std::nullopt;
}

DataChannelParams data_channel_params(const MediaSection& m) {
  DataChannelParams p;
  p.mid = m.mid();
  uint16_t port = 0;
  if (parse_number(m.attribute("sctp-port").value_or(""), port) && port > 0) p.remote_port = port;
  // 0 means "no limit" (RFC 8841 §6); keep our own bound then.
  if (uint32_t size = 0; parse_number(m.attribute("max-message-size").value_or(""), size)) {
    p.max_message_size = size == 0 ? kMaxMessageSize : size;
  }
  return p;
}

bool h264_compatible(std::string_view fmtp_a, std::string_view fmtp_b) {
  auto a = parse_fmtp(fmtp_a), b = parse_fmtp(fmtp_b);
  auto mode = [](std::map<std::string, std::string>& f) {
    return f.count("packetization-mode") ? f["packetization-mode"] : "0";
  };
  if (mode(a) != mode(b)) return false;
  // Profile family from profile_idc and constraint flags (RFC 6184 8.1).
  auto family = [](std::map<std::string, std::string>& f) -> std::string {
    std::string pli = f.count("profile-level-id") ? f["profile-level-id"] : "42000a";
    unsigned idc = 0, iop = 0;
    auto hex = [&](size_t at, unsigned& out) {
      auto [p, ec] = std::from_chars(pli.data() + at, pli.data() + at + 2, out, 16);
      return ec == std::errc() && p == pli.data() + at + 2;
    };
    if (pli.size() != 6 || !hex(0, idc) || !hex(2, iop)) return "?" + pli;
    if ((idc == 0x42 && (iop & 0x40)) || (idc == 0x4d && (iop & 0x80)) ||
        (idc == 0x58 && (iop & 0xc0) == 0xc0))
      return "baseline";  // constrained baseline decodes as baseline
    if (idc == 0x42) return "baseline";
    return std::to_string(idc) + ((idc == 0x64 && (iop & 0x0c) == 0x0c) ? "c" : "");
  };
  const std::string fa = family(a);
  return fa[0] != '?' && fa == family(b);
}

Result<PublishAnswer, NegotiationError> answer_publish(const SessionDescription& offer,
                                                       const LocalTransport& local,
                                                       const PublishOptions& options) {
  PublishAnswer out;
  const OfferBundle bundle(offer);
  std::vector<bool> accepted(offer.media.size(), false);
  std::vector<const MediaSection*> taken;
  std::vector<CodecParams> codecs(offer.media.size());
  bool have_audio = false, have_video = false;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaSection& m = offer.media[i];
    if (!is_av(m) || !bundle.usable(m) || !is_secure_rtp(m)) continue;
    const std::string dir = m.direction();
    if (dir != "sendonly" && dir != "sendrecv") continue;
    const bool video = m.media == "video";
    if ((video && have_video) || (!video && have_audio)) {
      return bad(
          406, std::string("only one ") + (video ? "video" : "audio") + " track can be published");
    }
    auto codec = pick_codec(m, video);
    if (!codec) {
      return bad(
          406, video ? "no supported video codec offered (VP8, VP9, H264 packetization-mode=1, AV1)"
                     : "no supported audio codec offered (Opus)");
    }
    if (!muxes_rtcp(bundle, m)) return bad(400, "rtcp-mux is required");
    if (!m.has_attribute("mid")) return bad(400, "media sections need a=mid (BUNDLE)");
    (video ? have_video : have_audio) = true;
    accepted[i] = true;
    taken.push_back(&m);
    codecs[i] = *codec;
  }
  if (!have_audio && !have_video) return bad(400, "the offer has no audio or video to publish");
  if (auto e = bundle.one_transport_error(taken); !e.empty()) return bad(400, e);

  auto remote = remote_transport(bundle, *taken.front());
  if (!remote.ok()) return remote.error();
  out.remote = remote.value();
  const SetupLine setup = setup_for(out.remote.our_role);

  std::string sdp = session_header(answer_header(offer, bundle, taken, local, out.remote.our_role));
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaSection& m = offer.media[i];
    if (!accepted[i]) {
      sdp += rejected_section(m, setup);
      continue;
    }
    const bool video = m.media == "video";
    CodecParams& c = codecs[i];
    NegotiatedTrack t;
    t.mid = m.mid();
    t.kind = video ? NegotiatedTrack::kVideo : NegotiatedTrack::kAudio;
    for (const auto& e : m.extmaps()) {
      const bool keep = e.uri == kUriMid || e.uri == kUriAbsSendTime || e.uri == kUriRid ||
                        e.uri == kUriRepairedRid || (!video && e.uri == kUriAudioLevel) ||
                        (options.transport_cc && e.uri == kUriTwcc);
      if (keep) t.extensions.push_back({e.id, e.uri});
    }
    const bool twcc = std::any_of(t.extensions.begin(), t.extensions.end(),
                                  [](const ExtensionMap& e) { return e.uri == kUriTwcc; });
    c.rtcp_fbs = filter_fbs(c.rtcp_fbs, video, twcc, true);
    // Publisher SSRCs: primary from FID group when present, else the first a=ssrc.
    for (const auto& g : m.ssrc_groups("FID")) {
      if (g.size() == 2) {
        t.ssrcs.push_back(g[0]);
        t.rtx_ssrc = g[1];
        break;
      }
    }
    if (t.ssrcs.empty()) {
      for (const auto& s : m.ssrcs()) {
        if (std::find(t.ssrcs.begin(), t.ssrcs.end(), s.ssrc) == t.ssrcs.end())
          t.ssrcs.push_back(s.ssrc);
      }
      if (t.ssrcs.size() > 1) t.ssrcs.resize(1);  // extra SSRCs without FID: not RTX we know of
    }
    std::string pts = std::to_string(c.payload_type);
    if (c.rtx_payload_type) pts += " " + std::to_string(*c.rtx_payload_type);
    sdp += m_line(m, pts);
    sdp += transport_lines(local, setup);
    sdp += "a=mid:" + t.mid + "\r\n";
    sdp += echoed_media_lines(m);
    for (const auto& e : t.extensions)
      sdp += "a=extmap:" + std::to_string(e.id) + " " + e.uri + "\r\n";
    sdp += "a=recvonly\r\n";
    sdp += codec_lines(c, c.rtcp_fbs, c.rtx_payload_type);
    // Simulcast needs the rid extension to tell the layers apart.
    const bool has_rid_ext = std::any_of(t.extensions.begin(), t.extensions.end(),
                                         [](const ExtensionMap& e) { return e.uri == kUriRid; });
    if (video && has_rid_ext && options.simulcast) t.rids = offered_send_rids(m);
    if (!t.rids.empty()) sdp += simulcast_recv_lines(t.rids);
    t.codec = c;
    out.tracks.push_back(std::move(t));
  }
  out.sdp = std::move(sdp);
  return out;
}

Result<SubscribeAnswer, NegotiationError> answer_subscribe(
    const SessionDescription& offer, const LocalTransport& local,
    const std::vector<NegotiatedTrack>& published, const SubscribeOptions& options) {
  SubscribeAnswer out;
  struct Plan {
    const NegotiatedTrack* track = nullptr;
    CodecParams codec;
  };
  const OfferBundle bundle(offer);
  std::vector<Plan> plan(offer.media.size());
  std::vector<bool> used(published.size(), false);
  std::string mismatch;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaSection& m = offer.media[i];
    if (!is_av(m) || !bundle.usable(m) || !is_secure_rtp(m)) continue;
    const std::string dir = m.direction();
    if (dir != "recvonly" && dir != "sendrecv") continue;
    const bool video = m.media == "video";
    for (size_t k = 0; k < published.size(); ++k) {
      const NegotiatedTrack& t = published[k];
      if (used[k] || (t.kind == NegotiatedTrack::kVideo) != video) continue;
      // The viewer's payload type for the publisher's codec.
      std::optional<CodecParams> match;
      for (uint8_t pt : format_order(m)) {
        auto map = m.rtpmap(pt);
        if (!map || !supported_codec(*map, video) || *supported_codec(*map, video) != t.codec.name)
          continue;
        const std::string fmtp = m.fmtp(pt);
        if (t.codec.name == "H264" && !h264_compatible(t.codec.fmtp, fmtp)) continue;
        if (t.codec.name == "VP9") {
          auto a = parse_fmtp(t.codec.fmtp), b = parse_fmtp(fmtp);
          if (a["profile-id"] != b["profile-id"] &&
              !(a["profile-id"].empty() && b["profile-id"] == "0") &&
              !(b["profile-id"].empty() && a["profile-id"] == "0"))
            continue;
        }
        CodecParams c;
        c.payload_type = pt;
        c.name = t.codec.name;
        c.clock_rate = map->clock_rate;
        c.channels = map->channels;
        c.fmtp = fmtp;
        const auto exts = m.extmaps();
        const bool twcc =
            options.transport_cc && std::any_of(exts.begin(), exts.end(),
                                                [](const ExtMap& e) { return e.uri == kUriTwcc; });
        c.rtcp_fbs = filter_fbs(m.rtcp_fbs(pt), video, twcc, true);
        if (video && options.video_rtx_ssrc) c.rtx_payload_type = rtx_for(m, pt);
        match = c;
        break;
      }
      if (!match) {
        mismatch = "viewer cannot receive " + t.codec.name + " (the stream's " +
                   (video ? "video" : "audio") + " codec)";
        break;
      }
      if (!muxes_rtcp(bundle, m)) return bad(400, "rtcp-mux is required");
      if (!m.has_attribute("mid")) return bad(400, "media sections need a=mid (BUNDLE)");
      used[k] = true;
      plan[i] = Plan{&t, *match};
      break;
    }
    if (!mismatch.empty()) return bad(406, mismatch);
  }
  std::optional<size_t> data_index;
  if (options.accept_data_channel) data_index = find_data_channel_section(offer);
  std::vector<const MediaSection*> taken;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    if (data_index == i || plan[i].track) taken.push_back(&offer.media[i]);
  }
  const MediaSection* first_av = nullptr;
  for (size_t i = 0; i < offer.media.size() && !first_av; ++i) {
    if (plan[i].track) first_av = &offer.media[i];
  }
  if (!first_av)
    return bad(406, "the offer has no audio or video section that can receive this stream");
  if (auto e = bundle.one_transport_error(taken); !e.empty()) return bad(400, e);
  auto remote = remote_transport(bundle, *first_av);
  if (!remote.ok()) return remote.error();
  out.remote = remote.value();
  const SetupLine setup = setup_for(out.remote.our_role);

  SessionHeader header = answer_header(offer, bundle, taken, local, out.remote.our_role);
  header.msid_stream = options.stream_id;
  std::string sdp = session_header(header);
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaSection& m = offer.media[i];
    const Plan& p = plan[i];
    if (data_index == i) {
      sdp += data_channel_section(local, setup, m.mid(), m.proto);
      out.data_channel = data_channel_params(m);
      continue;
    }
    if (!p.track) {
      sdp += rejected_section(m, setup);
      continue;
    }
    const bool video = m.media == "video";
    SubscribedTrack st;
    st.published_mid = p.track->mid;
    st.mid = m.mid();
    st.kind = p.track->kind;
    st.payload_type = p.codec.payload_type;
    st.ssrc = video ? options.video_ssrc : options.audio_ssrc;
    // Forward only extensions whose meaning survives the SFU: the MID and RID
    // values are the publisher's, so they are dropped (viewers demultiplex
    // by the SSRCs announced below).
    std::string extmaps;
    for (const auto& ve : m.extmaps()) {
      const bool twcc = options.transport_cc && ve.uri == kUriTwcc;
      const bool keep = ve.uri == kUriAbsSendTime || (!video && ve.uri == kUriAudioLevel) || twcc;
      if (!keep) continue;
      // Transport-wide numbers are this server's own toward the viewer: the
      // publisher's element (if any) is kept in place and overwritten.
      if (twcc) st.twcc_ext_id = ve.id;
      for (const auto& pe : p.track->extensions) {
        if (pe.uri == ve.uri) st.extension_map[pe.id] = ve.id;
      }
      extmaps += "a=extmap:" + std::to_string(ve.id) + " " + ve.uri + "\r\n";
    }
    const std::string track_id = std::string(video ? "video-" : "audio-") + options.stream_id;
    std::string pts = std::to_string(p.codec.payload_type);
    if (p.codec.rtx_payload_type) {
      st.rtx_payload_type = p.codec.rtx_payload_type;
      st.rtx_ssrc = options.video_rtx_ssrc;
      pts += " " + std::to_string(*p.codec.rtx_payload_type);
    }
    sdp += m_line(m, pts);
    sdp += transport_lines(local, setup);
    sdp += "a=mid:" + st.mid + "\r\n";
    sdp += echoed_media_lines(m);
    sdp += extmaps;
    sdp += "a=sendonly\r\n";
    sdp += "a=msid:" + options.stream_id + " " + track_id + "\r\n";
    sdp += codec_lines(p.codec, p.codec.rtcp_fbs, st.rtx_payload_type);
    std::vector<uint32_t> ssrcs{st.ssrc};
    if (st.rtx_payload_type) {
      ssrcs.push_back(st.rtx_ssrc);
      sdp += "a=ssrc-group:FID " + std::to_string(st.ssrc) + " " + std::to_string(st.rtx_ssrc) +
             "\r\n";
    }
    for (uint32_t ssrc : ssrcs) {
      sdp += "a=ssrc:" + std::to_string(ssrc) + " cname:" + options.cname + "\r\n";
      sdp +=
          "a=ssrc:" + std::to_string(ssrc) + " msid:" + options.stream_id + " " + track_id + "\r\n";
    }
    out.tracks.push_back(st);
  }
  out.sdp = std::move(sdp);
  return out;
}

}  // namespace lss::sdp
