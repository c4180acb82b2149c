"""The Certification runs page's slice: starting runs (``launch``), reading them as their methods certify them
(``views``), comparing and exporting (``compare``), the curves (``figures``) and the offline HTML report
(``report``)."""
