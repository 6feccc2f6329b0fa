#pragma once
// Server configuration: every seed environment variable keeps its name and
// meaning, new ones get clear names, and each has a command-line flag.
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "signal/ice_servers.hpp"

namespace lss {

struct Config {
  // HTTP front end
  std::string listen_address = "0.0.0.0";
  uint16_t port = 8080;  // PORT (seed)
  std::string web_dir;   // WEB_DIR; default: the web/ folder of the source tree
  std::string tls_cert;  // TLS_CERT: PEM chain (leaf first); with TLS_KEY, PORT speaks HTTPS
  std::string tls_key;   // TLS_KEY: its unencrypted PEM private key
  uint16_t http_redirect_port = 0;  // HTTP_REDIRECT_PORT: plain HTTP, redirects to HTTPS (0: off)
  std::string acme_webroot;         // ACME_WEBROOT: .well-known/acme-challenge/ over plain HTTP

  // Media
  uint16_t udp_port = 40000;   // UDP_PORT: first media port (one per worker)
  unsigned media_workers = 1;  // MEDIA_WORKERS
  bool ice_tcp = true;         // ICE_TCP: passive ICE-TCP candidates too
  uint16_t tcp_port = 0;       // TCP_PORT: first ICE-TCP port (0: the UDP ports' numbers)
  // SEND_PATH: auto (viewer by viewer, UDP GSO, falling back by itself),
  // grouped (viewer by viewer, one datagram per message), plain (each
  // packet to every viewer in turn, one per message), io_uring (auto's
  // messages submitted through an io_uring, one SENDMSG each, instead of
  // sendmmsg; sendmmsg where the kernel or the build has none) or connected
  // (auto's messages through a UDP socket connected to each destination,
  // which also receives that peer's datagrams) or xdp (AF_XDP frames on
  // XDP_DEVICE where the destination is on its subnet, auto for the rest). See
  // net/datagram_batch.hpp, net/uring_sender.hpp, net/connected_sockets.hpp and
  // sfu/fanout_batch.hpp.
  std::string send_path = "auto";
  // XDP_DEVICE: the device SEND_PATH=xdp transmits on (AF_XDP, copy mode
  // where the driver has no zero-copy); required with it. See
  // net/xdp_sender.hpp.
  std::string xdp_device;
  // PACING: each viewer's packets spread at 2.5x its bandwidth estimate
  // (sfu/burst_pacer.hpp), so keyframe bursts do not overflow shallow
  // router queues (bench/pacing); false: every packet leaves as soon as it
  // is forwarded.
  bool pacing = true;
  std::vector<std::string> public_ips;    // PUBLIC_IP: comma list; default loopback + host addrs
  bool public_ip_auto = false;            // PUBLIC_IP lists `auto`: add the STUN-mapped address
  std::vector<std::string> stun_servers;  // STUN_SERVERS: stun: URIs PUBLIC_IP=auto asks
  double consent_timeout_s = 15;          // CONSENT_TIMEOUT
  double shutdown_grace_s = 30;           // SHUTDOWN_GRACE: SIGTERM's wait for the spool to upload

  // ICE servers announced to clients (Link headers; the server needs none)
  std::vector<std::string> ice_servers;      // ICE_SERVERS: comma list of stun:/turn:/turns: URIs
  std::string turn_username, turn_password;  // TURN_USERNAME, TURN_PASSWORD (static)
  std::string turn_secret;                   // TURN_SECRET (coturn REST API shared secret)
  double turn_ttl_s = 86400;                 // TURN_TTL: lifetime of TURN_SECRET credentials

  // Security
  std::string stream_key;  // STREAM_KEY (seed)
  std::string admin_key;   // ADMIN_KEY: Bearer token of /api/admin/ (unset: loopback only)

  // Limits (0: none)
  double session_rate = 10;            // SESSION_RATE: WHIP/WHEP POSTs per client address a second
  double session_burst = 20;           // SESSION_BURST: ...and at once
  size_t sessions_per_ip = 100;        // SESSIONS_PER_IP: open WHIP/WHEP sessions per address
  size_t max_streams = 1000;           // MAX_STREAMS: live streams on this server
  size_t max_viewers_per_stream = 0;   // MAX_VIEWERS_PER_STREAM
  size_t max_peers_per_worker = 4000;  // MAX_PEERS_PER_WORKER
  // The HTTP and Socket.IO front end (README "Configuration")
  double header_timeout_s = 10;             // HEADER_TIMEOUT: a request's header, complete
  double body_timeout_s = 30;               // BODY_TIMEOUT: a request's body, complete
  size_t http_connections_per_ip = 100;     // HTTP_CONNECTIONS_PER_IP (IPv6: per /64)
  size_t http_max_connections = 4096;       // HTTP_MAX_CONNECTIONS: in all (at least 1)
  size_t socketio_connections_per_ip = 50;  // SOCKETIO_CONNECTIONS_PER_IP
  size_t socketio_max_pending_acks = 64;    // SOCKETIO_MAX_PENDING_ACKS: per Socket.IO session
  size_t socketio_max_queued_bytes = 1024 * 1024;  // SOCKETIO_MAX_QUEUED_BYTES: unread, per session
  size_t ws_max_message_bytes = 64 * 1024;  // WS_MAX_MESSAGE_BYTES: Socket.IO packet, WS message

  // Storage / recording (seed names; used by the recording issue)
  std::string data_dir = "./data";  // DATA_DIR
  bool record_streams = true;       // RECORD_STREAMS (seed: lowercase boolean)
  double clip_size_mb = 0;          // CLIP_SIZE (seed)
  double clip_length_s = 0;         // CLIP_LENGTH (seed)
  // LL-HLS of H264 streams at /hls/{stream}/index.m3u8 (HLS, HLS_PART_MS, HLS_SEGMENT_MS).
  bool hls = true;
  int64_t hls_part_ms = 300;
  int64_t hls_segment_ms = 2000;
  std::string file_host;        // FILE_HOST (seed)
  std::string region;           // REGION (seed)
  std::string s3_access_id;     // STORJ_SECRET_ACCESS_ID (seed) / AWS_ACCESS_KEY_ID
  std::string s3_secret;        // STORJ_SECRET_ACCESS_KEY (seed) / AWS_SECRET_ACCESS_KEY
  std::string s3_endpoint;      // S3_ENDPOINT
  std::string s3_bucket;        // S3_BUCKET
  bool s3_path_style = true;    // S3_PATH_STYLE: endpoint/bucket/key (false: bucket.endpoint/key)
  double s3_multipart_mb = 16;  // S3_MULTIPART_MB: clips above this go up in parts
  double s3_part_mb = 8;        // S3_PART_MB: part size (S3 wants >= 5 but for the last)

  // Catalog (seed MongoDB variables; DATABASE_URL for PostgreSQL)
  std::string mongo_user, mongo_password, mongo_host, mongo_url;
  std::string mongo_db = "live_stream_server";  // MONGO_DB
  std::string mongo_streams = "streams",
              mongo_clips = "clips";  // MONGO_STREAMS_COLLECTION, MONGO_CLIPS_COLLECTION
  std::string whitelist_key;          // WHITELIST_KEY (seed)
  std::string whitelist_url;          // WHITELIST_URL: the endpoint asked to whitelist this host
  std::string environment;            // ENVIRONMENT (seed): "dev" skips IP whitelisting
  std::string database_url;           // DATABASE_URL

  // PeerJS (seed PEER_HOST/PEER_PORT; the rest default as the `peer` package)
  std::string peer_host;
  uint16_t peer_port = 9000;
  std::string peer_path = "/";
  std::string peer_key = "peerjs";
  bool peer_secure = false;

  // Webhooks (README "Webhooks")
  std::vector<std::string> webhook_urls;  // WEBHOOK_URLS: comma list of http(s) receivers
  std::string webhook_secret;             // WEBHOOK_SECRET: HMAC-SHA256 key of X-Signature
  bool webhook_viewer_events = true;      // WEBHOOK_VIEWER_EVENTS: viewer.joined / viewer.left

  // Cluster mode (README "Cluster"): unset REDIS_URL, one node alone
  std::string redis_url;  // REDIS_URL: redis://[user:password@]host[:port][/db], unix:///path
  std::string node_id;    // NODE_ID: unique per process (default: host name and PORT)
  std::string node_url;   // NODE_URL: where other nodes reach it (default: first PUBLIC_IP, PORT)
  // CLUSTER_VIEWERS: how a viewer of a stream on another node is served:
  // "relay" (this node pulls it from the owner's WHEP, once, and serves it)
  // or "redirect" (307 to the owner's WHEP URL).
  std::string cluster_viewers = "relay";
  // CLUSTER_SECRET: a pull presenting it is not held to per-address limits.
  std::string cluster_secret;
  // Placement: a node over either sends new publishers (307) to the
  // least-loaded node under both. 0: no limit.
  uint64_t cluster_max_peers = 0;  // CLUSTER_MAX_PEERS
  double cluster_max_cpu = 0.9;    // CLUSTER_MAX_CPU: share of the host's cores

  std::string log_level = "info";  // LOG_LEVEL
  std::string config_file;         // CONFIG_FILE: KEY=VALUE settings, read again on SIGHUP
};

struct ConfigOutcome {
  enum class Kind { kRun, kExitOk, kExitError } kind = Kind::kRun;
  int exit_code = 0;
  std::string message;  // help text or the error naming the variable
  Config config;
};

// Reads flags and the environment (flags win). `--help` yields kExitOk with
// the help text; a bad value yields kExitError (exit code 2) with a message
// naming the variable and what it expected.
ConfigOutcome load_config(int argc, const char* const* argv);

// Checks shared with the SIGHUP reload (config_reload.hpp).
bool valid_log_level(const std::string& level);
Result<std::vector<std::string>> parse_webhook_urls(const std::string& list);
Result<bool> parse_bool_setting(const char* name, const std::string& value);

// ICE_SERVERS and TURN_* as the WHIP/WHEP front end takes them.
signal::IceServerOptions ice_server_options(const Config& config);

}  // namespace lss
