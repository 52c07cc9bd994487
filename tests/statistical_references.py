"""What a director need not read: R functions and conventions, software names and estimator details (the
methods for researchers keep them). Shared by the page scan and the PDF scan."""

import re

REFERENCES = re.compile(
    r"R's|\bas R\b|\blifelines\b|statsmodels|\bEfron\b|Breslow|Greenwood|Schoenfeld|survfit|coxph|cox\.zph|"
    r"CumIncidence|delta-method|log\(-log\)|sandwich|\(start, stop\]"
)
