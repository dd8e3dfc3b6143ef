// S3 error codes, their HTTP statuses, and the error document.
//
// The statuses follow the "Error responses" list of the AWS S3 API Reference.
// This table is the only place where an S3 error code meets a status.
#include <algorithm>
#include <array>
#include <utility>

#include "s3/s3.h"
#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

struct CodeStatus {
  std::string_view code;
  int status;
};

// Sorted by code, so that lookups can binary-search (checked at compile time).
constexpr std::array kStatusByCode = {
    CodeStatus{"AccessDenied", 403},
    CodeStatus{"AuthorizationHeaderMalformed", 400},
    CodeStatus{"AuthorizationQueryParametersError", 400},
    CodeStatus{"BadDigest", 400},
    CodeStatus{"BucketAlreadyExists", 409},
    CodeStatus{"BucketAlreadyOwnedByYou", 409},
    CodeStatus{"BucketNotEmpty", 409},
    CodeStatus{"ConditionalRequestConflict", 409},
    CodeStatus{"EntityTooLarge", 400},
    CodeStatus{"EntityTooSmall", 400},
    CodeStatus{"IncompleteBody", 400},
    CodeStatus{"InternalError", 500},
    CodeStatus{"InvalidAccessKeyId", 403},
    CodeStatus{"InvalidArgument", 400},
    CodeStatus{"InvalidBucketName", 400},
    CodeStatus{"InvalidBucketState", 409},
    CodeStatus{"InvalidDigest", 400},
    CodeStatus{"InvalidPart", 400},
    CodeStatus{"InvalidPartNumber", 416},
    CodeStatus{"InvalidPartOrder", 400},
    CodeStatus{"InvalidRange", 416},
    CodeStatus{"InvalidRequest", 400},
    CodeStatus{"InvalidURI", 400},
    CodeStatus{"KeyTooLongError", 400},
    CodeStatus{"MalformedPolicy", 400},
    CodeStatus{"MalformedTrailerError", 400},
    CodeStatus{"MalformedXML", 400},
    CodeStatus{"MaxMessageLengthExceeded", 400},
    CodeStatus{"MetadataTooLarge", 400},
    CodeStatus{"MethodNotAllowed", 405},
    CodeStatus{"MissingContentLength", 411},
    CodeStatus{"MissingRequestBodyError", 400},
    CodeStatus{"MissingSecurityHeader", 400},
    CodeStatus{"NoSuchBucket", 404},
    CodeStatus{"NoSuchBucketPolicy", 404},
    CodeStatus{"NoSuchKey", 404},
    CodeStatus{"NoSuchObjectLockConfiguration", 404},
    CodeStatus{"NoSuchUpload", 404},
    CodeStatus{"NoSuchVersion", 404},
    CodeStatus{"NotImplemented", 501},
    CodeStatus{"ObjectLockConfigurationNotFoundError", 404},
    CodeStatus{"OperationAborted", 409},
    CodeStatus{"PreconditionFailed", 412},
    CodeStatus{"RequestTimeTooSkewed", 403},
    CodeStatus{"RequestTimeout", 400},
    CodeStatus{"ServiceUnavailable", 503},
    CodeStatus{"SignatureDoesNotMatch", 403},
    CodeStatus{"SlowDown", 503},
    CodeStatus{"XAmzContentSHA256Mismatch", 400},
};

constexpr bool IsSortedByCode() {
  for (size_t i = 1; i < kStatusByCode.size(); ++i) {
    if (!(kStatusByCode[i - 1].code < kStatusByCode[i].code)) return false;
  }
  return true;
}
static_assert(IsSortedByCode(), "kStatusByCode must be sorted by code, without duplicates");

}  // namespace

int S3Error::http_status() const {
  auto it = std::lower_bound(kStatusByCode.begin(), kStatusByCode.end(), code,
                             [](const CodeStatus& entry, const std::string& wanted) {
                               return entry.code < std::string_view(wanted);
                             });
  if (it != kStatusByCode.end() && it->code == code) return it->status;
  // An unknown code is a bug in the caller; 500 keeps the client from
  // retrying it as if it were its own fault, and the code still reaches the
  // error document and the access log.
  return 500;
}

S3Error MakeS3Error(std::string code, std::string message, std::string resource) {
  return S3Error{std::move(code), std::move(message), std::move(resource)};
}

S3Error FromError(const Error& error, std::string resource) {
  switch (error.code) {
    case Errc::kUnavailable:
      // Generic, like InternalError below: which nodes are down is for the log.
      return MakeS3Error("ServiceUnavailable", "Service is unable to handle request.",
                         std::move(resource));
    case Errc::kTooLarge:
      return MakeS3Error("EntityTooLarge", error.message, std::move(resource));
    case Errc::kInvalidArgument:
      return MakeS3Error("InvalidArgument", error.message, std::move(resource));
    case Errc::kPermission:
    case Errc::kLocked:  // the message names the hold or retention that blocks it
      return MakeS3Error("AccessDenied", error.message, std::move(resource));
    case Errc::kNotFound:
      return MakeS3Error("NoSuchKey", error.message, std::move(resource));
    case Errc::kConflict:
      return MakeS3Error("OperationAborted", error.message, std::move(resource));
    case Errc::kPreconditionFailed:
      return MakeS3Error("PreconditionFailed", std::string(kPreconditionFailedMessage), std::move(resource));
    default:
      // The internal message may name files, nodes or SQL; it belongs in the
      // server log, not in a reply to the client.
      return MakeS3Error("InternalError", "We encountered an internal error. Please try again.",
                         std::move(resource));
  }
}

std::string RenderErrorXml(const S3Error& error, std::string_view request_id) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>";
  xml += XmlEscape(error.code);
  xml += "</Code><Message>";
  xml += XmlEscape(error.message);
  xml += "</Message>";
  if (!error.resource.empty()) {
    xml += "<Resource>";
    xml += XmlEscape(error.resource);
    xml += "</Resource>";
  }
  xml += "<RequestId>";
  xml += XmlEscape(request_id);
  xml += "</RequestId></Error>";
  return xml;
}

}  // namespace holdfast::s3
