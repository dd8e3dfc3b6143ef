// The XML of s3_ops.h: listings (v1, versions, parts, uploads), deletes,
// copies, multipart uploads and versioning, rendered exactly and parsed
// strictly.
#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

constexpr int64_t kOct12_2009 = 1255369800000;  // 2009-10-12T17:50:00Z
const std::string kHead = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const std::string kNs = " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";
const std::string kOwner = "<Owner><ID>u1</ID><DisplayName>u1</DisplayName></Owner>";

pugi::xml_node Root(pugi::xml_document* document, const std::string& xml) {
  EXPECT_TRUE(document->load_string(xml.c_str())) << xml;
  return document->document_element();
}

// ---- ListObjects (v1) -----------------------------------------------------------

meta::ListResult Listing(bool truncated) {
  meta::ListResult result;
  result.objects = {{"photos/a b.jpg", 434234, "fba9dede5f27731c9771645a39863328", kOct12_2009}};
  result.common_prefixes = {"photos/2009/"};
  result.is_truncated = truncated;
  result.next_start_after = truncated ? "photos/2009/" : "";
  return result;
}

TEST(RenderListObjectsV1, Document) {
  ListV1Params params;
  params.bucket = "bucket";
  params.prefix = "photos/";
  params.delimiter = "/";
  params.marker = "photos/0";
  params.max_keys = 2;
  EXPECT_EQ(RenderListObjectsV1(params, Listing(true), "u1"),
            kHead + "<ListBucketResult" + kNs +
                "><Name>bucket</Name><Prefix>photos/</Prefix><Marker>photos/0</Marker>"
                "<NextMarker>photos/2009/</NextMarker><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter>"
                "<IsTruncated>true</IsTruncated><Contents><Key>photos/a b.jpg</Key>"
                "<LastModified>2009-10-12T17:50:00.000Z</LastModified>"
                "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
                "<StorageClass>STANDARD</StorageClass>" +
                kOwner +
                "</Contents><CommonPrefixes><Prefix>photos/2009/</Prefix></CommonPrefixes>"
                "</ListBucketResult>");
}

TEST(RenderListObjectsV1, NextMarkerOnlyWithADelimiterAndTruncated) {
  ListV1Params params;
  params.bucket = "bucket";
  pugi::xml_document document;
  pugi::xml_node root = Root(&document, RenderListObjectsV1(params, Listing(true), "u1"));
  EXPECT_FALSE(root.child("NextMarker"));
  EXPECT_FALSE(root.child("Delimiter"));
  EXPECT_TRUE(root.child("Marker"));  // always there, empty when not given
  params.delimiter = "/";
  root = Root(&document, RenderListObjectsV1(params, Listing(false), "u1"));
  EXPECT_FALSE(root.child("NextMarker"));
}

TEST(RenderListObjectsV1, UrlEncoding) {
  ListV1Params params;
  params.bucket = "bucket";
  params.prefix = "photos/ ";
  params.delimiter = "/";
  params.marker = "a&b";
  params.encoding_url = true;
  pugi::xml_document document;
  pugi::xml_node root = Root(&document, RenderListObjectsV1(params, Listing(true), "u1"));
  EXPECT_STREQ(root.child_value("Prefix"), "photos/%20");
  EXPECT_STREQ(root.child_value("Marker"), "a%26b");
  EXPECT_STREQ(root.child_value("NextMarker"), "photos/2009/");
  EXPECT_STREQ(root.child_value("EncodingType"), "url");
  EXPECT_STREQ(root.child("Contents").child_value("Key"), "photos/a%20b.jpg");
}

// ---- ListObjectVersions -------------------------------------------------------------

TEST(RenderListObjectVersions, VersionsAndDeleteMarkersInOrder) {
  ListVersionsParams params;
  params.bucket = "bucket";
  params.prefix = "my";
  params.max_keys = 3;
  ListVersionsResult result;
  result.versions = {{"my-image.jpg", "3/L4kqtJl40Nr8X8gdRQBpUMLUo", true, false, kOct12_2009,
                      "fba9dede5f27731c9771645a39863328", 434234},
                     {"my-second-image.jpg", "03jpff543dhffds434rfdsFDN943fdsFkdmqnh892", true,
                      true, kOct12_2009 + 1000, "", 0},
                     {"my-second-image.jpg", "null", false, false, kOct12_2009, "abc", 1}};
  result.is_truncated = true;
  result.next_key_marker = "my-second-image.jpg";
  result.next_version_id_marker = "null";
  EXPECT_EQ(
      RenderListObjectVersions(params, result, "u1"),
      kHead + "<ListVersionsResult" + kNs +
          "><Name>bucket</Name><Prefix>my</Prefix><KeyMarker></KeyMarker>"
          "<VersionIdMarker></VersionIdMarker><NextKeyMarker>my-second-image.jpg</NextKeyMarker>"
          "<NextVersionIdMarker>null</NextVersionIdMarker><MaxKeys>3</MaxKeys>"
          "<IsTruncated>true</IsTruncated>"
          "<Version><Key>my-image.jpg</Key><VersionId>3/L4kqtJl40Nr8X8gdRQBpUMLUo</VersionId>"
          "<IsLatest>true</IsLatest><LastModified>2009-10-12T17:50:00.000Z</LastModified>"
          "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
          "<StorageClass>STANDARD</StorageClass>" +
          kOwner +
          "</Version><DeleteMarker><Key>my-second-image.jpg</Key>"
          "<VersionId>03jpff543dhffds434rfdsFDN943fdsFkdmqnh892</VersionId>"
          "<IsLatest>true</IsLatest><LastModified>2009-10-12T17:50:01.000Z</LastModified>" +
          kOwner +
          "</DeleteMarker><Version><Key>my-second-image.jpg</Key><VersionId>null</VersionId>"
          "<IsLatest>false</IsLatest><LastModified>2009-10-12T17:50:00.000Z</LastModified>"
          "<ETag>&quot;abc&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass>" +
          kOwner + "</Version></ListVersionsResult>");
}

TEST(RenderListObjectVersions, NotTruncatedWithPrefixesAndEncoding) {
  ListVersionsParams params;
  params.bucket = "bucket";
  params.delimiter = "/";
  params.key_marker = "a b";
  params.version_id_marker = "v1";
  params.encoding_url = true;
  ListVersionsResult result;
  result.common_prefixes = {"dir one/"};
  pugi::xml_document document;
  pugi::xml_node root = Root(&document, RenderListObjectVersions(params, result, "u1"));
  EXPECT_STREQ(root.child_value("KeyMarker"), "a%20b");
  EXPECT_STREQ(root.child_value("VersionIdMarker"), "v1");
  EXPECT_FALSE(root.child("NextKeyMarker"));
  EXPECT_FALSE(root.child("NextVersionIdMarker"));
  EXPECT_STREQ(root.child_value("Delimiter"), "/");
  EXPECT_STREQ(root.child_value("EncodingType"), "url");
  EXPECT_STREQ(root.child("CommonPrefixes").child_value("Prefix"), "dir%20one/");
}

// ---- DeleteObjects ------------------------------------------------------------------

std::string DeleteBody(int objects, std::string quiet = "") {
  std::string body = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" + quiet;
  for (int i = 0; i < objects; ++i)
    body += "<Object><Key>k" + std::to_string(i) + "</Key></Object>";
  return body + "</Delete>";
}

std::string DeleteError(std::string_view body) {
  auto parsed = ParseDeleteObjects(body);
  return std::holds_alternative<S3Error>(parsed) ? std::get<S3Error>(parsed).code : "OK";
}

TEST(ParseDeleteObjects, Request) {
  auto parsed = ParseDeleteObjects(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
      "  <Quiet>true</Quiet>\n"
      "  <Object><Key>sample1.txt</Key></Object>\n"
      "  <Object><Key>a&amp;b &#13;</Key><VersionId>v2</VersionId><ETag>\"x\"</ETag></Object>\n"
      "  <Object><Key> </Key></Object>\n"
      "</Delete>");
  ASSERT_TRUE(std::holds_alternative<DeleteObjectsRequest>(parsed));
  const DeleteObjectsRequest& request = std::get<DeleteObjectsRequest>(parsed);
  EXPECT_TRUE(request.quiet);
  ASSERT_EQ(request.objects.size(), 3u);
  EXPECT_EQ(request.objects[0].key, "sample1.txt");
  EXPECT_EQ(request.objects[0].version_id, "");
  EXPECT_EQ(request.objects[1].key, "a&b \r");
  EXPECT_EQ(request.objects[1].version_id, "v2");
  EXPECT_EQ(request.objects[2].key, " ");  // whitespace is a key like any other
  EXPECT_FALSE(std::get<DeleteObjectsRequest>(ParseDeleteObjects(DeleteBody(1))).quiet);
}

TEST(ParseDeleteObjects, LimitsAndMalformedBodies) {
  EXPECT_EQ(DeleteError(DeleteBody(1000)), "OK");
  EXPECT_EQ(DeleteError(DeleteBody(1001)), "MalformedXML");
  EXPECT_EQ(DeleteError(DeleteBody(0)), "MalformedXML");
  EXPECT_EQ(DeleteError(DeleteBody(1, "<Quiet>yes</Quiet>")), "MalformedXML");
  for (std::string body : {"", "<Delete>", "<Other><Object><Key>k</Key></Object></Other>",
                           "<Delete><Object><Key>k</Key></Object><Extra/></Delete>",
                           "<Delete><Object><VersionId>v</VersionId></Object></Delete>",
                           "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
                           "<Delete><Object><Key></Key></Object></Delete>",
                           "<Delete><Object>text<Key>k</Key></Object></Delete>",
                           "<Delete><Object><Key>k</Key></Object></Delete><Delete/>"}) {
    EXPECT_EQ(DeleteError(body), "MalformedXML") << body;
  }
}

TEST(RenderDeleteResult, DeletedAndErrorsInOrder) {
  std::vector<DeleteOutcome> outcomes = {
      {"sample1.txt", "", std::nullopt, false, ""},
      {"sample2.txt", "", MakeS3Error("AccessDenied", "Access Denied"), false, ""},
      {"sample3.txt", "", std::nullopt, true, "NeQt5xeFTfgPJD8B4CGWnkSLtluMr11s"},
      {"a<b", "v1", std::nullopt, false, ""}};
  EXPECT_EQ(RenderDeleteResult(outcomes, /*quiet=*/false),
            kHead + "<DeleteResult" + kNs +
                "><Deleted><Key>sample1.txt</Key></Deleted>"
                "<Error><Key>sample2.txt</Key><Code>AccessDenied</Code>"
                "<Message>Access Denied</Message></Error>"
                "<Deleted><Key>sample3.txt</Key><DeleteMarker>true</DeleteMarker>"
                "<DeleteMarkerVersionId>NeQt5xeFTfgPJD8B4CGWnkSLtluMr11s</DeleteMarkerVersionId>"
                "</Deleted><Deleted><Key>a&lt;b</Key><VersionId>v1</VersionId></Deleted>"
                "</DeleteResult>");
  EXPECT_EQ(RenderDeleteResult(outcomes, /*quiet=*/true),
            kHead + "<DeleteResult" + kNs +
                "><Error><Key>sample2.txt</Key><Code>AccessDenied</Code>"
                "<Message>Access Denied</Message></Error></DeleteResult>");
  EXPECT_EQ(RenderDeleteResult({}, true), kHead + "<DeleteResult" + kNs + "></DeleteResult>");
}

// ---- Copies ---------------------------------------------------------------------------

TEST(RenderCopyResults, Documents) {
  EXPECT_EQ(RenderCopyObjectResult("9b2cf535f27731c974343645a3985328", kOct12_2009),
            kHead + "<CopyObjectResult" + kNs +
                "><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>"
                "<LastModified>2009-10-12T17:50:00.000Z</LastModified></CopyObjectResult>");
  EXPECT_EQ(RenderCopyPartResult("b2cf535f", kOct12_2009 + 5),
            kHead + "<CopyPartResult" + kNs +
                "><ETag>&quot;b2cf535f&quot;</ETag>"
                "<LastModified>2009-10-12T17:50:00.005Z</LastModified></CopyPartResult>");
}

// ---- Versioning -------------------------------------------------------------------------

std::string Versioning(std::string_view body) {
  auto parsed = ParseVersioningConfiguration(body);
  if (auto* error = std::get_if<S3Error>(&parsed)) return error->code;
  return std::get<VersioningStatus>(parsed) == VersioningStatus::kEnabled ? "Enabled" : "Suspended";
}

TEST(Versioning, ParseAndRender) {
  EXPECT_EQ(Versioning("<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<Status>Enabled</Status></VersioningConfiguration>"),
            "Enabled");
  EXPECT_EQ(Versioning("<VersioningConfiguration><Status>Suspended</Status>"
                       "<MfaDelete>Disabled</MfaDelete></VersioningConfiguration>"),
            "Suspended");
  for (std::string bad : {"", "<VersioningConfiguration/>",
                          "<VersioningConfiguration><Status>enabled</Status>"
                          "</VersioningConfiguration>",
                          "<VersioningConfiguration><Status>Enabled</Status><Status>Suspended"
                          "</Status></VersioningConfiguration>",
                          "<VersioningConfiguration><Other/></VersioningConfiguration>",
                          "<Versioning><Status>Enabled</Status></Versioning>"}) {
    EXPECT_EQ(Versioning(bad), "MalformedXML") << bad;
  }
  EXPECT_EQ(RenderVersioningConfiguration(VersioningStatus::kNeverEnabled),
            kHead + "<VersioningConfiguration" + kNs + "/>");
  EXPECT_EQ(RenderVersioningConfiguration(VersioningStatus::kEnabled),
            kHead + "<VersioningConfiguration" + kNs +
                "><Status>Enabled</Status></VersioningConfiguration>");
  EXPECT_EQ(RenderVersioningConfiguration(VersioningStatus::kSuspended),
            kHead + "<VersioningConfiguration" + kNs +
                "><Status>Suspended</Status></VersioningConfiguration>");
}

// ---- Multipart uploads ------------------------------------------------------------------

TEST(MultipartXml, Initiate) {
  EXPECT_EQ(RenderInitiateMultipartUpload("example-bucket", "example-object",
                                          "0123456789abcdef0123456789abcdef"),
            kHead + "<InitiateMultipartUploadResult" + kNs +
                "><Bucket>example-bucket</Bucket><Key>example-object</Key>"
                "<UploadId>0123456789abcdef0123456789abcdef</UploadId>"
                "</InitiateMultipartUploadResult>");
}

std::string CompleteError(std::string_view body) {
  auto parsed = ParseCompleteMultipartUpload(body);
  return std::holds_alternative<S3Error>(parsed) ? std::get<S3Error>(parsed).code : "OK";
}

TEST(MultipartXml, ParseComplete) {
  auto parsed = ParseCompleteMultipartUpload(
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
      "  <Part><PartNumber>1</PartNumber><ETag>\"a54357aff0632cce46d942af68356b38\"</ETag></Part>\n"
      "  <Part><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag>"
      "<PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>\n"
      "  <Part><PartNumber>10000</PartNumber><ETag>acbd18db4cc2f85cedef654fccc4a4d8</ETag></Part>\n"
      "</CompleteMultipartUpload>");
  ASSERT_TRUE(std::holds_alternative<std::vector<CompletedPart>>(parsed));
  const auto& parts = std::get<std::vector<CompletedPart>>(parsed);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].part_number, 1);
  EXPECT_EQ(parts[0].etag, "a54357aff0632cce46d942af68356b38");
  EXPECT_EQ(parts[1].part_number, 2);
  EXPECT_EQ(parts[1].etag, "0c78aef83f66abc1fa1e8477f296d394");
  EXPECT_EQ(parts[2].etag, "acbd18db4cc2f85cedef654fccc4a4d8");
}

TEST(MultipartXml, ParseCompleteErrors) {
  auto part = [](std::string number) {
    return "<Part><PartNumber>" + number + "</PartNumber><ETag>\"e\"</ETag></Part>";
  };
  auto body = [](std::string parts) {
    return "<CompleteMultipartUpload>" + parts + "</CompleteMultipartUpload>";
  };
  EXPECT_EQ(CompleteError(body(part("1") + part("3"))), "OK");
  EXPECT_EQ(CompleteError(body(part("2") + part("1"))), "InvalidPartOrder");
  EXPECT_EQ(CompleteError(body(part("1") + part("1"))), "InvalidPartOrder");
  EXPECT_EQ(CompleteError(body(part("0"))), "InvalidArgument");
  EXPECT_EQ(CompleteError(body(part("10001"))), "InvalidArgument");
  EXPECT_EQ(CompleteError(body(part("x"))), "MalformedXML");
  EXPECT_EQ(CompleteError(body("")), "MalformedXML");
  EXPECT_EQ(CompleteError(body("<Part><PartNumber>1</PartNumber></Part>")), "MalformedXML");
  EXPECT_EQ(CompleteError(body("<Other/>")), "MalformedXML");
  EXPECT_EQ(CompleteError("<CompleteMultipartUpload>"), "MalformedXML");
  auto order = ParseCompleteMultipartUpload(body(part("2") + part("1")));
  EXPECT_EQ(std::get<S3Error>(order).message,
            "The list of parts was not in ascending order. Parts must be ordered by part number.");
}

TEST(MultipartXml, CompleteResult) {
  EXPECT_EQ(RenderCompleteMultipartUpload("http://localhost:9000/Example-Bucket/Example-Object",
                                          "Example-Bucket", "Example-Object",
                                          "3858f62230ac3c915f300c664312c11f-9"),
            kHead + "<CompleteMultipartUploadResult" + kNs +
                "><Location>http://localhost:9000/Example-Bucket/Example-Object</Location>"
                "<Bucket>Example-Bucket</Bucket><Key>Example-Object</Key>"
                "<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
                "</CompleteMultipartUploadResult>");
}

TEST(MultipartXml, ListParts) {
  ListPartsParams params{"example-bucket", "example-object", "0123456789abcdef0123456789abcdef", 1,
                         2};
  ListPartsResult result;
  result.parts = {{2, "7778aef83f66abc1fa1e8477f296d394", 10485760, kOct12_2009},
                  {3, "aaaaa18db4cc2f85cedef654fccc4a4x", 10485760, kOct12_2009}};
  result.is_truncated = true;
  result.next_part_number_marker = 3;
  EXPECT_EQ(RenderListParts(params, result, "u1"),
            kHead + "<ListPartsResult" + kNs +
                "><Bucket>example-bucket</Bucket><Key>example-object</Key>"
                "<UploadId>0123456789abcdef0123456789abcdef</UploadId>"
                "<Initiator><ID>u1</ID><DisplayName>u1</DisplayName></Initiator>" +
                kOwner +
                "<StorageClass>STANDARD</StorageClass><PartNumberMarker>1</PartNumberMarker>"
                "<NextPartNumberMarker>3</NextPartNumberMarker><MaxParts>2</MaxParts>"
                "<IsTruncated>true</IsTruncated>"
                "<Part><PartNumber>2</PartNumber><LastModified>2009-10-12T17:50:00.000Z"
                "</LastModified><ETag>&quot;7778aef83f66abc1fa1e8477f296d394&quot;</ETag>"
                "<Size>10485760</Size></Part>"
                "<Part><PartNumber>3</PartNumber><LastModified>2009-10-12T17:50:00.000Z"
                "</LastModified><ETag>&quot;aaaaa18db4cc2f85cedef654fccc4a4x&quot;</ETag>"
                "<Size>10485760</Size></Part></ListPartsResult>");
}

TEST(MultipartXml, ListUploads) {
  ListUploadsParams params;
  params.bucket = "bucket";
  params.prefix = "my ";
  params.delimiter = "/";
  params.max_uploads = 3;
  params.encoding_url = true;
  ListUploadsResult result;
  result.uploads = {{"my divisor", "0123456789abcdef0123456789abcdef", kOct12_2009}};
  result.common_prefixes = {"my /photos/"};
  result.is_truncated = true;
  result.next_key_marker = "my divisor";
  result.next_upload_id_marker = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(RenderListMultipartUploads(params, result, "u1"),
            kHead + "<ListMultipartUploadsResult" + kNs +
                "><Bucket>bucket</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
                "<NextKeyMarker>my%20divisor</NextKeyMarker>"
                "<NextUploadIdMarker>0123456789abcdef0123456789abcdef</NextUploadIdMarker>"
                "<Delimiter>/</Delimiter><Prefix>my%20</Prefix><MaxUploads>3</MaxUploads>"
                "<IsTruncated>true</IsTruncated><EncodingType>url</EncodingType>"
                "<Upload><Key>my%20divisor</Key>"
                "<UploadId>0123456789abcdef0123456789abcdef</UploadId>"
                "<Initiator><ID>u1</ID><DisplayName>u1</DisplayName></Initiator>" +
                kOwner +
                "<StorageClass>STANDARD</StorageClass>"
                "<Initiated>2009-10-12T17:50:00.000Z</Initiated></Upload>"
                "<CommonPrefixes><Prefix>my%20/photos/</Prefix></CommonPrefixes>"
                "</ListMultipartUploadsResult>");
}

}  // namespace
}  // namespace holdfast::s3
