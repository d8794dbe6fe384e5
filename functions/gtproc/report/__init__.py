"""`gtproc report`: one self-contained HTML page about a labeling job.

Not part of the Lambda asset (infra excludes this package): it needs the optional `report` extra
(matplotlib), which the functions never import.

    job.py      read a job tree (a folder or an S3 prefix) into JobFiles
    analysis.py the numbers behind every section (pure: numpy and the domain, no plotting)
    html.py     charts (matplotlib, inline SVG) and the page
"""
