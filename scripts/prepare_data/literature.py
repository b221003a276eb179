"""Literature values quoted in ``loads/coefficients/PROVENANCE.md`` of the source folder.

Written to ``loads/coefficients/literature_values.csv`` by ``loads.py`` and listed, with
links, in the Loads section of ``data/README.md``. The last four rows (Lake Taihu's
nitrogen sink and the Tai Lake Basin's N release, used to check the Taihu model in
docs/guide.md) are not in that PROVENANCE file: they are transcribed from the abstracts of
the papers at the given DOIs.
"""

from __future__ import annotations

#: Literature values quoted in loads/coefficients/PROVENANCE.md (numbers only, with URL).
LITERATURE = [
    (
        "per_capita_BOD5",
        60.0,
        "g/PE/day",
        "Tirol Atlas, Einwohnerwert",
        "https://tirolatlas2.uibk.ac.at/wsgi/maps/query/text?id=1362&lang=de",
    ),
    (
        "per_capita_COD",
        120.0,
        "g/PE/day",
        "Tirol Atlas, Einwohnerwert",
        "https://tirolatlas2.uibk.ac.at/wsgi/maps/query/text?id=1362&lang=de",
    ),
    (
        "per_capita_TN_low",
        10.0,
        "g N/PE/day",
        "Tirol Atlas (range 10-12)",
        "https://tirolatlas2.uibk.ac.at/wsgi/maps/query/text?id=1362&lang=de",
    ),
    (
        "per_capita_TN_high",
        12.0,
        "g N/PE/day",
        "Tirol Atlas (range 10-12)",
        "https://tirolatlas2.uibk.ac.at/wsgi/maps/query/text?id=1362&lang=de",
    ),
    (
        "per_capita_TP",
        1.8,
        "g P/cap/day",
        "Lough Neagh housing-estate study (1976)",
        "https://www.acemap.info/paper/167274148",
    ),
    (
        "per_capita_TN_fleet",
        10.8,
        "g N/cap/day",
        "Fleet lagoon hindcast, Table 13 (3.94 kg/yr)",
        "https://aquaticbiosystems.biomedcentral.com/articles/10.1186/1746-1448-2-15/tables/13",
    ),
    (
        "secondary_treatment_P_removal",
        67.22,
        "%",
        "Fleet lagoon hindcast, Table 13",
        "https://aquaticbiosystems.biomedcentral.com/articles/10.1186/1746-1448-2-15/tables/13",
    ),
    (
        "k_nitrification_rhine_nl_max",
        1.9,
        "1/day",
        "van der Perk Table 13.3 (Admiraal & Botermans 1989: 0.0-1.9, Rhine NL)",
        "https://digilib.universitaspertamina.ac.id/ebook/Soil%20and%20water%20contamination,"
        "%202nd%20edition/files/basic-html/page262.html",
    ),
    (
        "k_nitrification_normal_low",
        0.5,
        "1/day",
        "van der Perk Table 13.3 (Veldkamp & Van Mazijk 1989: 0.5-0.8)",
        "https://digilib.universitaspertamina.ac.id/ebook/Soil%20and%20water%20contamination,"
        "%202nd%20edition/files/basic-html/page262.html",
    ),
    (
        "k_nitrification_normal_high",
        0.8,
        "1/day",
        "van der Perk Table 13.3 (Veldkamp & Van Mazijk 1989: 0.5-0.8)",
        "https://digilib.universitaspertamina.ac.id/ebook/Soil%20and%20water%20contamination,"
        "%202nd%20edition/files/basic-html/page262.html",
    ),
    (
        "k_denitrification_thames",
        0.05,
        "1/day",
        "van der Perk Table 13.3 (Whitehead & Williams, River Thames)",
        "https://digilib.universitaspertamina.ac.id/ebook/Soil%20and%20water%20contamination,"
        "%202nd%20edition/files/basic-html/page262.html",
    ),
    (
        "k_BOD_median",
        0.344,
        "1/day",
        "Environ Eng Res 23(1) 2018 (range 0.191-0.92)",
        "http://eeer.org/journal/view.php?number=876",
    ),
    (
        "k_nitrification_chattahoochee",
        0.25,
        "1/day",
        "calibrated at 20 C, Chattahoochee GA",
        "https://discovery.researcher.life/article/laboratory-and-instream-nitrification-rates-"
        "for-selected-streams/287b8b240ab9374aafde08c9e93a5c7d",
    ),
    (
        "sparrow_TN_loss_flow_threshold",
        2.83,
        "m3/s",
        "SPARROW New England: TN in-stream loss significant only below this mean flow",
        "https://pubs.usgs.gov/sir/2004/5012/",
    ),
    (
        "taihu_nonpoint_share_TN",
        83.0,
        "%",
        "share of TN entering Taihu from non-point sources",
        "http://hjjkyyj.com/html/hjjkyyj/2019/2/A20190115002.htm",
    ),
    (
        "taihu_nonpoint_share_TP",
        84.0,
        "%",
        "share of TP entering Taihu from non-point sources",
        "http://hjjkyyj.com/html/hjjkyyj/2019/2/A20190115002.htm",
    ),
    (
        "taihu_lake_TN_self_purification_2006",
        40000.0,
        "t N/yr",
        "Han et al. 2014, Environ Sci Pollut Res, EcoTaihu model: N self-purification "
        "capacity of Lake Taihu",
        "https://doi.org/10.1007/s11356-014-3920-6",
    ),
    (
        "taihu_lake_TN_self_purification_2008",
        42700.0,
        "t N/yr",
        "Han et al. 2014, Environ Sci Pollut Res, EcoTaihu model: N self-purification "
        "capacity of Lake Taihu",
        "https://doi.org/10.1007/s11356-014-3920-6",
    ),
    (
        "taihu_lake_TN_self_purification_2010",
        41100.0,
        "t N/yr",
        "Han et al. 2014, Environ Sci Pollut Res, EcoTaihu model: N self-purification "
        "capacity of Lake Taihu",
        "https://doi.org/10.1007/s11356-014-3920-6",
    ),
    (
        "taihu_basin_TN_into_water_2008",
        33043.2,
        "t N/yr",
        "Liu, Liu, Zhang & Bi 2013, Environmental Management: five sectors' N release into "
        "aquatic systems of the Tai Lake Basin, 2008 (household 46 %, deposition 18 %, "
        "crops 15 %)",
        "https://doi.org/10.1007/s00267-012-9999-y",
    ),
]
