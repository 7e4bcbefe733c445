// Marks the page as able to run the NHS design system's scripts. Loaded as a blocking script at the top of <body>
// (the content security policy allows no inline scripts). Pages work fully without it.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');
