"""ISO 4217 currency codes, shipped as a static list (no network, no locale data).

The active alphabetic codes of ISO 4217 (list one, maintained by SIX). The
precious-metal, fund and testing codes (``XAU``, ``XDR``, ``XTS``, ``XXX``…)
are left out on purpose: an invoice in one of them is a data-quality problem,
not a payable. Update this list by hand when the standard changes.
"""

from __future__ import annotations

ISO_4217: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB
    BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP
    DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF
    IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK
    LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND
    TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF
    YER ZAR ZMW ZWG
    """.split()
)


def is_currency(code: str) -> bool:
    """Whether ``code`` is an active ISO 4217 code (exact, upper case: ``EUR``, not ``eur``)."""
    return code in ISO_4217
