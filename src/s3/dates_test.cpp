#include "s3/dates.h"

#include <gtest/gtest.h>

#include "s3/s3.h"

namespace holdfast::s3 {
namespace {

TEST(ParseAmzDate, ValidAndInvalid) {
  EXPECT_EQ(ParseAmzDate("20130524T000000Z"), 1369353600000);
  EXPECT_EQ(ParseAmzDate("20150830T123600Z"), 1440938160000);
  EXPECT_EQ(ParseAmzDate("20000229T235959Z"), 951868799000);
  for (std::string bad :
       {"", "20130524", "20130524T000000", "20130524T000000z", "2013-05-24T00:00:00Z",
        "20130524T000000Z ", "20130230T000000Z", "20130524T240000Z", "20130524T006000Z",
        "20130524T000060Z", "20131324T000000Z", "2013052AT000000Z", "+0130524T000000Z"}) {
    EXPECT_FALSE(ParseAmzDate(bad).has_value()) << bad;
  }
}

TEST(FormatAmzDate, RoundTrip) {
  EXPECT_EQ(FormatAmzDate(1369353600000), "20130524T000000Z");
  EXPECT_EQ(FormatAmzDate(1440938160999), "20150830T123600Z");
}

TEST(ParseHttpDate, ValidAndInvalid) {
  EXPECT_EQ(ParseHttpDate("Fri, 24 May 2013 00:00:00 GMT"), 1369353600000);
  EXPECT_EQ(ParseHttpDate(HttpDate(1255369800000)), 1255369800000);
  for (std::string bad : {"", "Fri, 24 May 2013 00:00:00 UTC", "Thu, 24 May 2013 00:00:00 GMT",
                          "Fri, 24 Mai 2013 00:00:00 GMT", "Fri, 24 May 2013 00:00 GMT",
                          "Friday, 24-May-13 00:00:00 GMT", "Fri May 24 00:00:00 2013",
                          "Fri, 31 Feb 2013 00:00:00 GMT", "Fri,24 May 2013 00:00:00 GMT "}) {
    EXPECT_FALSE(ParseHttpDate(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace holdfast::s3
