#pragma once
// Small pieces every libavformat muxer of ours needs (the clip writer, the
// LL-HLS fMP4 muxer): error texts, extradata, the AVIO
// callback's buffer type across FFmpeg versions.
extern "C" {
#include <libavcodec/codec_par.h>
#include <libavformat/version.h>
}

#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace lss::record {

// av_strerror's text for an AVERROR code.
std::string av_error(int code);
// Copies `data` into `par`'s extradata with libavcodec's padding; nothing
// for empty data.
lss::Status set_extradata(AVCodecParameters* par, ByteSpan data);

// AVIO's write callback took a non-const buffer before FFmpeg 7.
#if LIBAVFORMAT_VERSION_MAJOR >= 61
using AvioBytes = const uint8_t*;
#else
using AvioBytes = uint8_t*;
#endif

}  // namespace lss::record
