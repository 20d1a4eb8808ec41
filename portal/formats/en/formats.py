"""
How the admin and Django's own widgets write dates in English: as the client's pages do
(portal.formatting.when), "Fri 4 Dec 2026, 8:11 AM EST", always naming the zone, instead of
Django's "Dec. 4, 2026, 8:11 a.m.". Input formats stay Django's.
"""

from portal.formatting import DAY_AND_TIME

DATE_FORMAT = "D j M Y"
TIME_FORMAT = "g:i A"
DATETIME_FORMAT = DAY_AND_TIME
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, g:i A T"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
