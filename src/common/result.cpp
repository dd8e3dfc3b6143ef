#include "common/result.h"

namespace holdfast {

const char* ErrcName(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument: return "invalid-argument";
    case Errc::kNotFound: return "not-found";
    case Errc::kAlreadyExists: return "already-exists";
    case Errc::kConflict: return "conflict";
    case Errc::kCorrupt: return "corrupt";
    case Errc::kIo: return "io";
    case Errc::kUnavailable: return "unavailable";
    case Errc::kPermission: return "permission";
    case Errc::kTooLarge: return "too-large";
    case Errc::kInfeasible: return "infeasible";
    case Errc::kInternal: return "internal";
    case Errc::kLocked: return "locked";
    case Errc::kPreconditionFailed: return "precondition-failed";
  }
  return "unknown";
}

}  // namespace holdfast
