#include "app/config.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <thread>

#include "app/env_file.hpp"
#include "app/https_setup.hpp"
#include "app/public_ip.hpp"
#include "cluster/redis_url.hpp"
#include "signal/ice_servers.hpp"

namespace lss {
namespace {

#ifndef LSS_DEFAULT_WEB_DIR
#define LSS_DEFAULT_WEB_DIR "web"
#endif

// Seed and AWS spellings that mean the same thing as a primary variable.
struct Alias {
  const char* alias;
  const char* primary;
};
constexpr Alias kAliases[] = {
    {"AWS_ACCESS_KEY_ID", "STORJ_SECRET_ACCESS_ID"},
    {"AWS_SECRET_ACCESS_KEY", "STORJ_SECRET_ACCESS_KEY"},
    {"AWS_REGION", "REGION"},
    {"AWS_ENDPOINT_URL", "S3_ENDPOINT"},
};

void apply_aliases() {
  for (const auto& a : kAliases) {
    const char* v = std::getenv(a.alias);
    if (v && !std::getenv(a.primary)) setenv(a.primary, v, 0);
  }
}

bool parse_bool(const std::string& s, bool& out) {
  if (s == "true" || s == "1" || s == "yes" || s == "on") return out = true, true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return out = false, true;
  return false;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

// CONFIG_FILE (or --config-file) as given, before CLI11 parses: its
// entries must be in the environment by then.
std::string config_file_path(int argc, const char* const* argv) {
  std::string path;
  if (const char* v = std::getenv("CONFIG_FILE")) path = v;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--config-file" && i + 1 < argc) path = argv[i + 1];
    if (a.starts_with("--config-file=")) path = std::string(a.substr(14));
  }
  return path;
}

}  // namespace

bool valid_log_level(const std::string& level) {
  for (const char* l : {"trace", "debug", "info", "warn", "error", "critical", "off"})
    if (level == l) return true;
  return false;
}

Result<std::vector<std::string>> parse_webhook_urls(const std::string& list) {
  std::vector<std::string> urls = split_list(list);
  for (const auto& url : urls) {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      return make_error("invalid WEBHOOK_URLS: expected http:// or https:// URLs, got '" + url +
                        "'");
  }
  return urls;
}

Result<bool> parse_bool_setting(const char* name, const std::string& value) {
  bool b = false;
  if (!parse_bool(value, b))
    return make_error(std::string("invalid ") + name + ": expected true or false, got '" + value +
                      "'");
  return b;
}

signal::IceServerOptions ice_server_options(const Config& c) {
  signal::IceServerOptions o;
  o.urls = c.ice_servers;
  o.username = c.turn_username;
  o.password = c.turn_password;
  o.secret = c.turn_secret;
  o.ttl = std::chrono::seconds(int64_t(c.turn_ttl_s));
  return o;
}

ConfigOutcome load_config(int argc, const char* const* argv) {
  ConfigOutcome out;
  Config& c = out.config;
  c.web_dir = LSS_DEFAULT_WEB_DIR;
  c.media_workers = std::max(1u, std::thread::hardware_concurrency());
  // CONFIG_FILE's entries go into the environment (over what it had, so the
  // file is the one place to edit), before anything else reads it. Start-up
  // is single-threaded here.
  c.config_file = config_file_path(argc, argv);
  if (!c.config_file.empty()) {
    auto entries = read_env_file(c.config_file);
    if (!entries.ok()) {
      out.kind = ConfigOutcome::Kind::kExitError;
      out.exit_code = 2;
      out.message = "invalid CONFIG_FILE: " + entries.error().message;
      return out;
    }
    for (const auto& [k, v] : *entries) setenv(k.c_str(), v.c_str(), 1);
  }
  apply_aliases();

  CLI::App app{
      "live-stream-server: WebRTC SFU with WHIP/WHEP, recording and clips.\n"
      "Every option can also be set by the environment variable shown."};
  app.get_formatter()->column_width(44);
  std::string record_streams = "true", peer_secure = "false", public_ip, s3_path_style = "true";
  std::string hls = "true";
  std::string ice_servers, stun_servers;

  auto opt = [&](const char* flag, auto& var, const char* env, const char* help) {
    return app.add_option(flag, var, help)->envname(env)->capture_default_str();
  };
  opt("--listen-address", c.listen_address, "LISTEN_ADDRESS", "HTTP bind address");
  opt("--port", c.port, "PORT", "HTTP port (WHIP, WHEP, API, web page)");
  opt("--web-dir", c.web_dir, "WEB_DIR", "folder of the built-in web page");
  opt("--tls-cert", c.tls_cert, "TLS_CERT",
      "PEM certificate chain, leaf first (e.g. certbot's fullchain.pem); with TLS_KEY, PORT "
      "serves HTTPS and WSS, reloaded when the files change or on SIGHUP");
  opt("--tls-key", c.tls_key, "TLS_KEY", "unencrypted PEM private key of TLS_CERT (privkey.pem)");
  opt("--http-redirect-port", c.http_redirect_port, "HTTP_REDIRECT_PORT",
      "plain HTTP port that redirects everything to HTTPS on PORT (0: none; needs TLS_CERT)")
      ->check(CLI::Range(0, 65535));
  opt("--acme-webroot", c.acme_webroot, "ACME_WEBROOT",
      "serve /.well-known/acme-challenge/ from this folder over plain HTTP (certbot --webroot)");
  opt("--udp-port", c.udp_port, "UDP_PORT", "first UDP media port (one per worker)")
      ->check(CLI::Range(1, 65535));
  opt("--media-workers", c.media_workers, "MEDIA_WORKERS", "media worker threads (default: cores)")
      ->check(CLI::Range(1, 256));
  std::string ice_tcp = "true";
  opt("--ice-tcp", ice_tcp, "ICE_TCP",
      "also offer passive ICE-TCP candidates, for clients whose UDP is blocked (true/false)");
  opt("--send-path", c.send_path, "SEND_PATH",
      "how media goes out: auto (viewer by viewer, UDP GSO carrying each viewer's run of "
      "packets in one message, falling back by itself where the kernel refuses it), grouped "
      "(viewer by viewer, one datagram per message), plain (each packet to every viewer in "
      "turn, one datagram per message: the path before GSO), io_uring (auto's messages "
      "submitted through an io_uring instead of sendmmsg; sendmmsg where the kernel refuses "
      "io_uring), connected (auto's messages through a UDP socket connected to each "
      "destination, sharing the port with SO_REUSEPORT) or xdp (datagrams routed through "
      "XDP_DEVICE as AF_XDP frames built by the server, the rest as auto; needs root or "
      "CAP_NET_RAW+CAP_NET_ADMIN, falls back to auto where the socket cannot be made)");
  opt("--xdp-device", c.xdp_device, "XDP_DEVICE",
      "network device SEND_PATH=xdp transmits on (required with it), e.g. eth0");
  std::string pacing = "true";
  opt("--pacing", pacing, "PACING",
      "spread each viewer's bursts (keyframes) at 2.5x its bandwidth estimate, at most 80 ms "
      "late, so shallow router queues do not drop their tail (true/false, default true)");
  opt("--tcp-port", c.tcp_port, "TCP_PORT",
      "first ICE-TCP port, one per worker (0: the same numbers as the UDP ports)")
      ->check(CLI::Range(0, 65535));
  opt("--public-ip", public_ip, "PUBLIC_IP",
      "comma list of IPv4/IPv6 addresses put in ICE candidates, 'auto' adds the address STUN "
      "servers see (default: this host's IPv4 addresses, 127.0.0.1, its global/ULA IPv6 ones)");
  opt("--stun-servers", stun_servers, "STUN_SERVERS",
      "comma list of stun:host:port URIs PUBLIC_IP=auto asks (default: the stun: ones of "
      "ICE_SERVERS)");
  opt("--shutdown-grace", c.shutdown_grace_s, "SHUTDOWN_GRACE",
      "seconds SIGTERM waits for the spool to upload before exiting (a second SIGTERM: at once)")
      ->check(CLI::Range(0.0, 86400.0));
  opt("--consent-timeout", c.consent_timeout_s, "CONSENT_TIMEOUT",
      "seconds without a valid ICE check before a peer is closed")
      ->check(CLI::Range(1.0, 3600.0));
  opt("--ice-servers", ice_servers, "ICE_SERVERS",
      "comma list of stun:, turn:, turns: URIs announced to clients (Link headers)");
  opt("--turn-username", c.turn_username, "TURN_USERNAME",
      "static TURN username for the turn: servers of ICE_SERVERS");
  opt("--turn-password", c.turn_password, "TURN_PASSWORD", "static TURN password");
  opt("--turn-secret", c.turn_secret, "TURN_SECRET",
      "coturn static-auth-secret: per-session TURN credentials (REST API) instead of static ones");
  opt("--turn-ttl", c.turn_ttl_s, "TURN_TTL", "seconds TURN_SECRET credentials stay valid")
      ->check(CLI::Range(3600.0, 2592000.0));
  opt("--stream-key", c.stream_key, "STREAM_KEY",
      "key required to publish (Bearer token / Socket.IO key); unset: loopback only");
  opt("--admin-key", c.admin_key, "ADMIN_KEY",
      "Bearer token of the admin API (/api/admin/); unset: loopback only");
  opt("--session-rate", c.session_rate, "SESSION_RATE",
      "WHIP/WHEP session requests a second per client address (not loopback); 0: no limit")
      ->check(CLI::Range(0.0, 1e6));
  opt("--session-burst", c.session_burst, "SESSION_BURST",
      "session requests a client address may make at once")
      ->check(CLI::Range(1.0, 1e6));
  opt("--sessions-per-ip", c.sessions_per_ip, "SESSIONS_PER_IP",
      "open WHIP/WHEP sessions per client address (not loopback); 0: no limit");
  opt("--max-streams", c.max_streams, "MAX_STREAMS", "live streams on this server; 0: no limit");
  opt("--max-viewers-per-stream", c.max_viewers_per_stream, "MAX_VIEWERS_PER_STREAM",
      "viewers of one stream; 0: no limit");
  opt("--max-peers-per-worker", c.max_peers_per_worker, "MAX_PEERS_PER_WORKER",
      "publishers and viewers on one media worker; 0: no limit");
  opt("--header-timeout", c.header_timeout_s, "HEADER_TIMEOUT",
      "seconds a request's header may take to arrive, from the connection (first request) or "
      "the request's first byte (keep-alive); a trickling client is cut off")
      ->check(CLI::Range(0.1, 3600.0));
  opt("--body-timeout", c.body_timeout_s, "BODY_TIMEOUT",
      "seconds a request's body may take to arrive after its header")
      ->check(CLI::Range(0.1, 3600.0));
  opt("--http-connections-per-ip", c.http_connections_per_ip, "HTTP_CONNECTIONS_PER_IP",
      "open HTTP connections per client address (IPv6: per /64; not loopback); past it a new "
      "one is closed at once; 0: no limit");
  opt("--http-max-connections", c.http_max_connections, "HTTP_MAX_CONNECTIONS",
      "open HTTP connections in all; past it a new one is closed at once")
      ->check(CLI::Range(size_t(1), size_t(10'000'000)));
  opt("--socketio-connections-per-ip", c.socketio_connections_per_ip, "SOCKETIO_CONNECTIONS_PER_IP",
      "Socket.IO sessions per client address (IPv6: per /64; not loopback); 0: no limit");
  opt("--socketio-max-pending-acks", c.socketio_max_pending_acks, "SOCKETIO_MAX_PENDING_ACKS",
      "events awaiting their ack on one Socket.IO session; past it the session is closed")
      ->check(CLI::Range(size_t(1), size_t(1'000'000)));
  opt("--socketio-max-queued-bytes", c.socketio_max_queued_bytes, "SOCKETIO_MAX_QUEUED_BYTES",
      "bytes waiting to go to one Socket.IO session that does not read; past it the session is "
      "closed; 0: no limit");
  opt("--ws-max-message-bytes", c.ws_max_message_bytes, "WS_MAX_MESSAGE_BYTES",
      "largest Socket.IO packet (WebSocket message, polling POST body); bigger ones close the "
      "session")
      ->check(CLI::Range(size_t(1024), size_t(64 * 1024 * 1024)));
  opt("--data-dir", c.data_dir, "DATA_DIR", "folder for recordings, spool and catalog");
  opt("--record-streams", record_streams, "RECORD_STREAMS", "record every stream (true/false)");
  opt("--clip-size", c.clip_size_mb, "CLIP_SIZE", "start a new clip past this many MB (0: off)")
      ->check(CLI::Range(0.0, 1e6));
  opt("--clip-length", c.clip_length_s, "CLIP_LENGTH",
      "start a new clip past this many seconds (0: off)")
      ->check(CLI::Range(0.0, 1e7));
  opt("--hls", hls, "HLS", "LL-HLS of H264 streams at /hls/{stream}/index.m3u8 (true/false)");
  opt("--hls-part-ms", c.hls_part_ms, "HLS_PART_MS", "LL-HLS part target in ms")
      ->check(CLI::Range(int64_t(100), int64_t(1000)));
  opt("--hls-segment-ms", c.hls_segment_ms, "HLS_SEGMENT_MS", "LL-HLS segment target in ms")
      ->check(CLI::Range(int64_t(1000), int64_t(10000)));
  opt("--file-host", c.file_host, "FILE_HOST", "public URL prefix of stored clips");
  opt("--region", c.region, "REGION", "S3 region (alias AWS_REGION)");
  opt("--s3-access-id", c.s3_access_id, "STORJ_SECRET_ACCESS_ID",
      "S3 access key id (alias AWS_ACCESS_KEY_ID)");
  opt("--s3-secret", c.s3_secret, "STORJ_SECRET_ACCESS_KEY",
      "S3 secret key (alias AWS_SECRET_ACCESS_KEY)");
  opt("--s3-endpoint", c.s3_endpoint, "S3_ENDPOINT", "S3 endpoint URL (unset: local folder)");
  opt("--s3-bucket", c.s3_bucket, "S3_BUCKET", "S3 bucket");
  opt("--s3-multipart-mb", c.s3_multipart_mb, "S3_MULTIPART_MB",
      "clips above this many MB use multipart upload")
      ->check(CLI::Range(0.001, 5000.0));
  opt("--s3-part-mb", c.s3_part_mb, "S3_PART_MB", "multipart part size in MB (S3 requires >= 5)")
      ->check(CLI::Range(0.001, 5000.0));
  opt("--s3-path-style", s3_path_style, "S3_PATH_STYLE",
      "path-style S3 URLs endpoint/bucket/key (true/false; false: bucket.endpoint/key)");
  opt("--mongo-user", c.mongo_user, "MONGO_USER", "MongoDB user");
  opt("--mongo-password", c.mongo_password, "MONGO_PASSWORD", "MongoDB password");
  opt("--mongo-host", c.mongo_host, "MONGO_HOST", "MongoDB host");
  opt("--mongo-url", c.mongo_url, "MONGO_URL",
      "MongoDB connection URL (wins over MONGO_USER/PASSWORD/HOST)");
  opt("--mongo-db", c.mongo_db, "MONGO_DB", "MongoDB database");
  opt("--mongo-streams-collection", c.mongo_streams, "MONGO_STREAMS_COLLECTION",
      "MongoDB collection of streams");
  opt("--mongo-clips-collection", c.mongo_clips, "MONGO_CLIPS_COLLECTION",
      "MongoDB collection of clips");
  opt("--whitelist-url", c.whitelist_url, "WHITELIST_URL",
      "endpoint asked (POST, WHITELIST_KEY) to whitelist this host before MongoDB");
  opt("--whitelist-key", c.whitelist_key, "WHITELIST_KEY",
      "key used to ask for this host's IP to be whitelisted on MongoDB");
  opt("--environment", c.environment, "ENVIRONMENT", "'dev' skips IP whitelisting");
  opt("--database-url", c.database_url, "DATABASE_URL", "PostgreSQL URL for the catalog");
  opt("--peer-host", c.peer_host, "PEER_HOST", "PeerJS server host (unset: PeerJS off)");
  opt("--peer-port", c.peer_port, "PEER_PORT", "PeerJS server port")->check(CLI::Range(1, 65535));
  opt("--peer-path", c.peer_path, "PEER_PATH", "PeerJS server path");
  opt("--peer-key", c.peer_key, "PEER_KEY", "PeerJS API key");
  opt("--peer-secure", peer_secure, "PEER_SECURE", "PeerJS over TLS (true/false)");
  std::string webhook_urls, webhook_viewer_events = "true";
  opt("--webhook-urls", webhook_urls, "WEBHOOK_URLS",
      "comma list of http(s) URLs that get every event as a signed JSON POST (README Webhooks)");
  opt("--webhook-secret", c.webhook_secret, "WEBHOOK_SECRET",
      "key of the webhooks' X-Signature (HMAC-SHA256 of the body); required with WEBHOOK_URLS");
  opt("--webhook-viewer-events", webhook_viewer_events, "WEBHOOK_VIEWER_EVENTS",
      "send viewer.joined and viewer.left too (true/false)");
  opt("--redis-url", c.redis_url, "REDIS_URL",
      "cluster mode: the Redis the nodes share, redis://[user:password@]host[:port][/db] or "
      "unix:///path (unset: this node alone)");
  opt("--node-id", c.node_id, "NODE_ID",
      "this node's id in the cluster, unique per process (default: host name and PORT)");
  opt("--node-url", c.node_url, "NODE_URL",
      "where other nodes and redirected clients reach this node (default: "
      "http(s)://<first PUBLIC_IP>:<PORT>)");
  opt("--cluster-viewers", c.cluster_viewers, "CLUSTER_VIEWERS",
      "a viewer of a stream on another node: relay (this node pulls it) or redirect (307 to the "
      "owner's WHEP URL)")
      ->check(CLI::IsMember({"relay", "redirect"}));
  opt("--cluster-secret", c.cluster_secret, "CLUSTER_SECRET",
      "shared by the nodes: a node's pull of another node's stream presents it, and is then not "
      "held to SESSION_RATE or SESSIONS_PER_IP (unset: pulls count as viewers)");
  opt("--cluster-max-peers", c.cluster_max_peers, "CLUSTER_MAX_PEERS",
      "a node with this many peers sends new publishers to the least-loaded node (307); 0: no "
      "limit");
  opt("--cluster-max-cpu", c.cluster_max_cpu, "CLUSTER_MAX_CPU",
      "the same past this share of the host's cores busy with this node (0..1; 0: no limit)")
      ->check(CLI::Range(0.0, 1.0));
  std::string config_file_flag;
  opt("--config-file", config_file_flag, "CONFIG_FILE",
      "KEY=VALUE file of these settings (over the environment); read again on SIGHUP for "
      "LOG_LEVEL and the WEBHOOK_ settings");
  opt("--log-level", c.log_level, "LOG_LEVEL", "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  auto fail = [&](std::string msg) {
    out.kind = ConfigOutcome::Kind::kExitError;
    out.exit_code = 2;
    out.message = std::move(msg);
    return out;
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    out.kind = ConfigOutcome::Kind::kExitOk;
    out.message = app.help();
    return out;
  } catch (const CLI::ParseError& e) {
    // Name the environment variable too: most deployments set those, not flags.
    std::string msg = e.what();
    for (const CLI::Option* o : app.get_options()) {
      const std::string env = o->get_envname();
      if (!env.empty() && msg.find(o->get_name()) != std::string::npos) {
        msg = "invalid " + env + " (" + o->get_name() + "): " + msg;
        break;
      }
    }
    return fail(msg + "\nRun with --help for the list of settings.");
  }

  if (!parse_bool(record_streams, c.record_streams))
    return fail("invalid RECORD_STREAMS: expected true or false, got '" + record_streams + "'");
  if (!parse_bool(hls, c.hls))
    return fail("invalid HLS: expected true or false, got '" + hls + "'");
  if (c.hls_segment_ms < 2 * c.hls_part_ms)
    return fail("invalid HLS_SEGMENT_MS: must be at least twice HLS_PART_MS");
  if (!parse_bool(s3_path_style, c.s3_path_style))
    return fail("invalid S3_PATH_STYLE: expected true or false, got '" + s3_path_style + "'");
  if (!c.s3_endpoint.empty() && c.s3_endpoint.rfind("http://", 0) != 0 &&
      c.s3_endpoint.rfind("https://", 0) != 0)
    return fail("invalid S3_ENDPOINT: expected an http:// or https:// URL, got '" + c.s3_endpoint +
                "'");
  if (!c.s3_endpoint.empty() && c.s3_bucket.empty())
    return fail("invalid S3_BUCKET: required when S3_ENDPOINT is set");
  if (!parse_bool(peer_secure, c.peer_secure))
    return fail("invalid PEER_SECURE: expected true or false, got '" + peer_secure + "'");
  auto public_ip_setting = parse_public_ip(split_list(public_ip));
  if (!public_ip_setting.ok()) return fail(public_ip_setting.error().message);
  c.public_ips = public_ip_setting->addresses;
  c.public_ip_auto = public_ip_setting->auto_discover;
  c.ice_servers = split_list(ice_servers);
  if (auto st = signal::validate_ice_servers(ice_server_options(c)); !st) return fail(st.message());
  c.stun_servers = split_list(stun_servers);
  if (auto st = validate_stun_servers(c); !st) return fail(st.message());
  if (int(c.udp_port) + int(c.media_workers) - 1 > 65535)
    return fail("invalid UDP_PORT: UDP_PORT + MEDIA_WORKERS - 1 exceeds 65535");
  if (std::string tls = check_https_config(c); !tls.empty()) return fail(tls);
  if (!c.redis_url.empty()) {
    if (auto r = cluster::parse_redis_url(c.redis_url); !r) return fail(r.error().message);
  }
  if (c.node_id.size() > 128 ||
      c.node_id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                  "-_.:") != std::string::npos)
    return fail("invalid NODE_ID: letters, digits and - _ . : only, at most 128");
  if (!c.node_url.empty() && c.node_url.rfind("http://", 0) != 0 &&
      c.node_url.rfind("https://", 0) != 0)
    return fail("invalid NODE_URL: expected an http:// or https:// URL, got '" + c.node_url + "'");
  auto urls = parse_webhook_urls(webhook_urls);
  if (!urls.ok()) return fail(urls.error().message);
  c.webhook_urls = std::move(urls.value());
  if (!c.webhook_urls.empty() && c.webhook_secret.empty())
    return fail("invalid WEBHOOK_SECRET: required when WEBHOOK_URLS is set (receivers check it)");
  if (!parse_bool(webhook_viewer_events, c.webhook_viewer_events))
    return fail("invalid WEBHOOK_VIEWER_EVENTS: expected true or false, got '" +
                webhook_viewer_events + "'");
  if (!parse_bool(pacing, c.pacing))
    return fail("invalid PACING: expected true or false, got '" + pacing + "'");
  if (!parse_bool(ice_tcp, c.ice_tcp))
    return fail("invalid ICE_TCP: expected true or false, got '" + ice_tcp + "'");
  if (c.send_path != "auto" && c.send_path != "grouped" && c.send_path != "plain" &&
      c.send_path != "io_uring" && c.send_path != "connected" && c.send_path != "xdp")
    return fail(
        "invalid SEND_PATH: expected auto, grouped, plain, io_uring, connected or xdp, got '" +
        c.send_path + "'");
  if (c.send_path == "xdp" && c.xdp_device.empty())
    return fail("SEND_PATH=xdp needs XDP_DEVICE (the network device to transmit on, e.g. eth0)");
  if (!c.xdp_device.empty() &&
      (c.xdp_device.size() >= 16 || c.xdp_device.find_first_of("/ \t") != std::string::npos))
    return fail("invalid XDP_DEVICE: not a network device name: '" + c.xdp_device + "'");
  if (c.tcp_port && int(c.tcp_port) + int(c.media_workers) - 1 > 65535)
    return fail("invalid TCP_PORT: TCP_PORT + MEDIA_WORKERS - 1 exceeds 65535");
  return out;
}

}  // namespace lss
