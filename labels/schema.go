package labels

// This file describes, as Go types, the part of Traefik v3.6's HTTP dynamic
// configuration that the docker provider accepts from labels. dswap uses the
// types in two ways:
//
//   - paerser decodes the labels into them, exactly as Traefik would, which
//     rejects unknown fields and malformed numbers, booleans and durations;
//   - the label walker in validate.go reads their reflection data to know
//     which settings are lists, maps, sections or scalars, and which spelling
//     to write in the file (the yaml tag).
//
// Field names must match Traefik's Go field names case-insensitively, because
// paerser matches label segments and YAML keys against the Go field name.
// The yaml tag is the spelling used in Traefik's documentation; it always
// equals the field name apart from letter case (a test checks this).
//
// The paerser tags keep their meaning: label:"allowEmpty" lets a section be
// switched on with "true" and no sub-keys, label-slice-as-struct names the
// singular label spelling of a list (loadbalancer.server), and file:"-" marks
// label-only settings that the file provider ignores.

import (
	ptypes "github.com/traefik/paerser/types"
)

// dynamicConfig is the root of the dynamic configuration. Only HTTP is
// modelled: dswap refuses TCP and UDP labels before decoding.
type dynamicConfig struct {
	HTTP *httpConfig `yaml:"http"`
}

type httpConfig struct {
	Routers     map[string]*routerConfig     `yaml:"routers"`
	Services    map[string]*serviceConfig    `yaml:"services"`
	Middlewares map[string]*middlewareConfig `yaml:"middlewares"`
}

type routerConfig struct {
	EntryPoints   []string             `yaml:"entryPoints"`
	Middlewares   []string             `yaml:"middlewares"`
	Service       string               `yaml:"service"`
	Rule          string               `yaml:"rule"`
	RuleSyntax    string               `yaml:"ruleSyntax"`
	Priority      int                  `yaml:"priority"`
	TLS           *routerTLSConfig     `yaml:"tls" label:"allowEmpty" file:"allowEmpty"`
	Observability *observabilityConfig `yaml:"observability"`
}

type routerTLSConfig struct {
	Options      string         `yaml:"options"`
	CertResolver string         `yaml:"certResolver"`
	Domains      []domainConfig `yaml:"domains"`
}

type domainConfig struct {
	Main string   `yaml:"main"`
	SANs []string `yaml:"sans"`
}

type observabilityConfig struct {
	AccessLogs     *bool  `yaml:"accessLogs"`
	Metrics        *bool  `yaml:"metrics"`
	Tracing        *bool  `yaml:"tracing"`
	TraceVerbosity string `yaml:"traceVerbosity"`
}

// serviceConfig has a load balancer and, in files only, the weighted
// round robin dswap writes for a canary: Traefik ignores the other service
// kinds (weighted, mirroring, failover, highestRandomWeight) in labels, so
// a weighted label is refused as unknown.
type serviceConfig struct {
	LoadBalancer *loadBalancerConfig `yaml:"loadBalancer"`
	Weighted     *weightedConfig     `yaml:"weighted" label:"-"`
}

// labelServiceConfig is a service as labels may declare it: a load
// balancer only.
type labelServiceConfig struct {
	LoadBalancer *loadBalancerConfig `yaml:"loadBalancer"`
}

// weightedConfig is Traefik's weighted round robin over other services.
type weightedConfig struct {
	Services []weightedServiceConfig `yaml:"services"`
	Sticky   *stickyConfig           `yaml:"sticky"`
}

type weightedServiceConfig struct {
	Name   string `yaml:"name"`
	Weight *int   `yaml:"weight"`
}

type loadBalancerConfig struct {
	Sticky             *stickyConfig             `yaml:"sticky" label:"allowEmpty" file:"allowEmpty"`
	Servers            []serverConfig            `yaml:"servers" label-slice-as-struct:"server"`
	Strategy           string                    `yaml:"strategy"`
	HealthCheck        *healthCheckConfig        `yaml:"healthCheck"`
	PassiveHealthCheck *passiveHealthCheckConfig `yaml:"passiveHealthCheck"`
	PassHostHeader     *bool                     `yaml:"passHostHeader"`
	ResponseForwarding *responseForwardingConfig `yaml:"responseForwarding"`
	ServersTransport   string                    `yaml:"serversTransport"`
}

type stickyConfig struct {
	Cookie *cookieConfig `yaml:"cookie" label:"allowEmpty" file:"allowEmpty"`
}

type cookieConfig struct {
	Name     string  `yaml:"name"`
	Secure   bool    `yaml:"secure"`
	HTTPOnly bool    `yaml:"httpOnly"`
	SameSite string  `yaml:"sameSite"`
	MaxAge   int     `yaml:"maxAge"`
	Path     *string `yaml:"path"`
	Domain   string  `yaml:"domain"`
}

// serverConfig is one load-balancer server. Scheme and Port only exist in
// labels: the docker provider folds them into URL, and so does dswap.
type serverConfig struct {
	URL          string `yaml:"url"`
	Weight       *int   `yaml:"weight"`
	PreservePath bool   `yaml:"preservePath"`
	Scheme       string `yaml:"scheme" file:"-"`
	Port         string `yaml:"port" file:"-"`
}

type healthCheckConfig struct {
	Scheme            string            `yaml:"scheme"`
	Mode              string            `yaml:"mode"`
	Path              string            `yaml:"path"`
	Method            string            `yaml:"method"`
	Status            int               `yaml:"status"`
	Port              int               `yaml:"port"`
	Interval          ptypes.Duration   `yaml:"interval"`
	UnhealthyInterval *ptypes.Duration  `yaml:"unhealthyInterval"`
	Timeout           ptypes.Duration   `yaml:"timeout"`
	Hostname          string            `yaml:"hostname"`
	FollowRedirects   *bool             `yaml:"followRedirects"`
	Headers           map[string]string `yaml:"headers"`
}

type passiveHealthCheckConfig struct {
	FailureWindow     ptypes.Duration `yaml:"failureWindow"`
	MaxFailedAttempts int             `yaml:"maxFailedAttempts"`
}

type responseForwardingConfig struct {
	FlushInterval ptypes.Duration `yaml:"flushInterval"`
}

// middlewareConfig has one field per middleware type; a middleware must set
// exactly one of them.
type middlewareConfig struct {
	AddPrefix         *addPrefixConfig         `yaml:"addPrefix"`
	StripPrefix       *stripPrefixConfig       `yaml:"stripPrefix"`
	StripPrefixRegex  *stripPrefixRegexConfig  `yaml:"stripPrefixRegex"`
	ReplacePath       *replacePathConfig       `yaml:"replacePath"`
	ReplacePathRegex  *replacePathRegexConfig  `yaml:"replacePathRegex"`
	Chain             *chainConfig             `yaml:"chain"`
	IPWhiteList       *ipWhiteListConfig       `yaml:"ipWhiteList"`
	IPAllowList       *ipAllowListConfig       `yaml:"ipAllowList"`
	Headers           *headersConfig           `yaml:"headers"`
	Errors            *errorsConfig            `yaml:"errors"`
	RateLimit         *rateLimitConfig         `yaml:"rateLimit"`
	RedirectRegex     *redirectRegexConfig     `yaml:"redirectRegex"`
	RedirectScheme    *redirectSchemeConfig    `yaml:"redirectScheme"`
	BasicAuth         *basicAuthConfig         `yaml:"basicAuth"`
	DigestAuth        *digestAuthConfig        `yaml:"digestAuth"`
	ForwardAuth       *forwardAuthConfig       `yaml:"forwardAuth"`
	InFlightReq       *inFlightReqConfig       `yaml:"inFlightReq"`
	Buffering         *bufferingConfig         `yaml:"buffering"`
	CircuitBreaker    *circuitBreakerConfig    `yaml:"circuitBreaker"`
	Compress          *compressConfig          `yaml:"compress" label:"allowEmpty" file:"allowEmpty"`
	PassTLSClientCert *passTLSClientCertConfig `yaml:"passTLSClientCert"`
	Retry             *retryConfig             `yaml:"retry"`
	ContentType       *contentTypeConfig       `yaml:"contentType" label:"allowEmpty" file:"allowEmpty"`
	GrpcWeb           *grpcWebConfig           `yaml:"grpcWeb"`
	// Plugin settings are free-form: each plugin defines its own.
	Plugin map[string]map[string]any `yaml:"plugin"`
}

type addPrefixConfig struct {
	Prefix string `yaml:"prefix"`
}

type stripPrefixConfig struct {
	Prefixes   []string `yaml:"prefixes"`
	ForceSlash *bool    `yaml:"forceSlash"`
}

type stripPrefixRegexConfig struct {
	Regex []string `yaml:"regex"`
}

type replacePathConfig struct {
	Path string `yaml:"path"`
}

type replacePathRegexConfig struct {
	Regex       string `yaml:"regex"`
	Replacement string `yaml:"replacement"`
}

type chainConfig struct {
	Middlewares []string `yaml:"middlewares"`
}

// ipWhiteListConfig is the deprecated form of ipAllowListConfig. It is kept
// separate because it lacks rejectStatusCode, and a field Traefik does not
// know would make it reject the whole file.
type ipWhiteListConfig struct {
	SourceRange []string          `yaml:"sourceRange"`
	IPStrategy  *ipStrategyConfig `yaml:"ipStrategy" label:"allowEmpty" file:"allowEmpty"`
}

type ipAllowListConfig struct {
	SourceRange      []string          `yaml:"sourceRange"`
	IPStrategy       *ipStrategyConfig `yaml:"ipStrategy" label:"allowEmpty" file:"allowEmpty"`
	RejectStatusCode int               `yaml:"rejectStatusCode" label:"allowEmpty" file:"allowEmpty"`
}

type ipStrategyConfig struct {
	Depth       int      `yaml:"depth"`
	ExcludedIPs []string `yaml:"excludedIPs"`
	IPv6Subnet  *int     `yaml:"ipv6Subnet"`
}

type headersConfig struct {
	CustomRequestHeaders              map[string]string `yaml:"customRequestHeaders"`
	CustomResponseHeaders             map[string]string `yaml:"customResponseHeaders"`
	AccessControlAllowCredentials     bool              `yaml:"accessControlAllowCredentials"`
	AccessControlAllowHeaders         []string          `yaml:"accessControlAllowHeaders"`
	AccessControlAllowMethods         []string          `yaml:"accessControlAllowMethods"`
	AccessControlAllowOriginList      []string          `yaml:"accessControlAllowOriginList"`
	AccessControlAllowOriginListRegex []string          `yaml:"accessControlAllowOriginListRegex"`
	AccessControlExposeHeaders        []string          `yaml:"accessControlExposeHeaders"`
	AccessControlMaxAge               int64             `yaml:"accessControlMaxAge"`
	AddVaryHeader                     bool              `yaml:"addVaryHeader"`
	AllowedHosts                      []string          `yaml:"allowedHosts"`
	HostsProxyHeaders                 []string          `yaml:"hostsProxyHeaders"`
	SSLProxyHeaders                   map[string]string `yaml:"sslProxyHeaders"`
	STSSeconds                        *int64            `yaml:"stsSeconds"`
	STSIncludeSubdomains              bool              `yaml:"stsIncludeSubdomains"`
	STSPreload                        bool              `yaml:"stsPreload"`
	ForceSTSHeader                    bool              `yaml:"forceSTSHeader"`
	FrameDeny                         bool              `yaml:"frameDeny"`
	CustomFrameOptionsValue           string            `yaml:"customFrameOptionsValue"`
	ContentTypeNosniff                bool              `yaml:"contentTypeNosniff"`
	BrowserXSSFilter                  bool              `yaml:"browserXssFilter"`
	CustomBrowserXSSValue             string            `yaml:"customBrowserXSSValue"`
	ContentSecurityPolicy             string            `yaml:"contentSecurityPolicy"`
	ContentSecurityPolicyReportOnly   string            `yaml:"contentSecurityPolicyReportOnly"`
	PublicKey                         string            `yaml:"publicKey"`
	ReferrerPolicy                    string            `yaml:"referrerPolicy"`
	PermissionsPolicy                 string            `yaml:"permissionsPolicy"`
	IsDevelopment                     bool              `yaml:"isDevelopment"`
	FeaturePolicy                     *string           `yaml:"featurePolicy"`
	SSLRedirect                       *bool             `yaml:"sslRedirect"`
	SSLTemporaryRedirect              *bool             `yaml:"sslTemporaryRedirect"`
	SSLHost                           *string           `yaml:"sslHost"`
	SSLForceHost                      *bool             `yaml:"sslForceHost"`
}

type errorsConfig struct {
	Status         []string       `yaml:"status"`
	StatusRewrites map[string]int `yaml:"statusRewrites"`
	Service        string         `yaml:"service"`
	Query          string         `yaml:"query"`

	// ErrorRequestHeaders is only in Traefik v2.11 (see version.go).
	ErrorRequestHeaders []string `yaml:"errorRequestHeaders"`
}

type rateLimitConfig struct {
	Average         int64                  `yaml:"average"`
	Period          ptypes.Duration        `yaml:"period"`
	Burst           int64                  `yaml:"burst"`
	SourceCriterion *sourceCriterionConfig `yaml:"sourceCriterion"`
	Redis           *redisConfig           `yaml:"redis"`
}

type sourceCriterionConfig struct {
	IPStrategy        *ipStrategyConfig `yaml:"ipStrategy"`
	RequestHeaderName string            `yaml:"requestHeaderName"`
	RequestHost       bool              `yaml:"requestHost"`
}

type redisConfig struct {
	Endpoints      []string         `yaml:"endpoints"`
	TLS            *redisTLSConfig  `yaml:"tls"`
	Username       string           `yaml:"username"`
	Password       string           `yaml:"password"`
	DB             int              `yaml:"db"`
	PoolSize       int              `yaml:"poolSize"`
	MinIdleConns   int              `yaml:"minIdleConns"`
	MaxActiveConns int              `yaml:"maxActiveConns"`
	ReadTimeout    *ptypes.Duration `yaml:"readTimeout"`
	WriteTimeout   *ptypes.Duration `yaml:"writeTimeout"`
	DialTimeout    *ptypes.Duration `yaml:"dialTimeout"`
}

type redisTLSConfig struct {
	CA                 string `yaml:"ca"`
	Cert               string `yaml:"cert"`
	Key                string `yaml:"key"`
	InsecureSkipVerify bool   `yaml:"insecureSkipVerify"`
}

type redirectRegexConfig struct {
	Regex       string `yaml:"regex"`
	Replacement string `yaml:"replacement"`
	Permanent   bool   `yaml:"permanent"`
}

type redirectSchemeConfig struct {
	Scheme    string `yaml:"scheme"`
	Port      string `yaml:"port"`
	Permanent bool   `yaml:"permanent"`
}

type basicAuthConfig struct {
	Users        []string `yaml:"users"`
	UsersFile    string   `yaml:"usersFile"`
	Realm        string   `yaml:"realm"`
	RemoveHeader bool     `yaml:"removeHeader"`
	HeaderField  string   `yaml:"headerField"`
}

type digestAuthConfig struct {
	Users        []string `yaml:"users"`
	UsersFile    string   `yaml:"usersFile"`
	RemoveHeader bool     `yaml:"removeHeader"`
	Realm        string   `yaml:"realm"`
	HeaderField  string   `yaml:"headerField"`
}

type forwardAuthConfig struct {
	Address                  string                `yaml:"address"`
	TLS                      *forwardAuthTLSConfig `yaml:"tls"`
	TrustForwardHeader       bool                  `yaml:"trustForwardHeader"`
	AuthResponseHeaders      []string              `yaml:"authResponseHeaders"`
	AuthResponseHeadersRegex string                `yaml:"authResponseHeadersRegex"`
	AuthRequestHeaders       []string              `yaml:"authRequestHeaders"`
	MaxResponseBodySize      *int64                `yaml:"maxResponseBodySize"`
	AddAuthCookiesToResponse []string              `yaml:"addAuthCookiesToResponse"`
	HeaderField              string                `yaml:"headerField"`
	ForwardBody              bool                  `yaml:"forwardBody"`
	MaxBodySize              *int64                `yaml:"maxBodySize"`
	PreserveLocationHeader   bool                  `yaml:"preserveLocationHeader"`
	PreserveRequestMethod    bool                  `yaml:"preserveRequestMethod"`
}

type forwardAuthTLSConfig struct {
	CA                 string `yaml:"ca"`
	Cert               string `yaml:"cert"`
	Key                string `yaml:"key"`
	InsecureSkipVerify bool   `yaml:"insecureSkipVerify"`
	CAOptional         *bool  `yaml:"caOptional"`
}

type inFlightReqConfig struct {
	Amount          int64                  `yaml:"amount"`
	SourceCriterion *sourceCriterionConfig `yaml:"sourceCriterion"`
}

type bufferingConfig struct {
	MaxRequestBodyBytes  int64  `yaml:"maxRequestBodyBytes"`
	MemRequestBodyBytes  int64  `yaml:"memRequestBodyBytes"`
	MaxResponseBodyBytes int64  `yaml:"maxResponseBodyBytes"`
	MemResponseBodyBytes int64  `yaml:"memResponseBodyBytes"`
	RetryExpression      string `yaml:"retryExpression"`
}

type circuitBreakerConfig struct {
	Expression       string          `yaml:"expression"`
	CheckPeriod      ptypes.Duration `yaml:"checkPeriod"`
	FallbackDuration ptypes.Duration `yaml:"fallbackDuration"`
	RecoveryDuration ptypes.Duration `yaml:"recoveryDuration"`
	ResponseCode     int             `yaml:"responseCode"`
}

type compressConfig struct {
	ExcludedContentTypes []string `yaml:"excludedContentTypes"`
	IncludedContentTypes []string `yaml:"includedContentTypes"`
	MinResponseBodyBytes int      `yaml:"minResponseBodyBytes"`
	Encodings            []string `yaml:"encodings"`
	DefaultEncoding      string   `yaml:"defaultEncoding"`
}

type passTLSClientCertConfig struct {
	PEM  bool                  `yaml:"pem"`
	Info *clientCertInfoConfig `yaml:"info"`
}

type clientCertInfoConfig struct {
	NotAfter     bool               `yaml:"notAfter"`
	NotBefore    bool               `yaml:"notBefore"`
	Sans         bool               `yaml:"sans"`
	SerialNumber bool               `yaml:"serialNumber"`
	Subject      *subjectInfoConfig `yaml:"subject"`
	Issuer       *issuerInfoConfig  `yaml:"issuer"`
}

type subjectInfoConfig struct {
	Country            bool `yaml:"country"`
	Province           bool `yaml:"province"`
	Locality           bool `yaml:"locality"`
	Organization       bool `yaml:"organization"`
	OrganizationalUnit bool `yaml:"organizationalUnit"`
	CommonName         bool `yaml:"commonName"`
	SerialNumber       bool `yaml:"serialNumber"`
	DomainComponent    bool `yaml:"domainComponent"`
}

type issuerInfoConfig struct {
	Country         bool `yaml:"country"`
	Province        bool `yaml:"province"`
	Locality        bool `yaml:"locality"`
	Organization    bool `yaml:"organization"`
	CommonName      bool `yaml:"commonName"`
	SerialNumber    bool `yaml:"serialNumber"`
	DomainComponent bool `yaml:"domainComponent"`
}

type retryConfig struct {
	Attempts        int             `yaml:"attempts"`
	InitialInterval ptypes.Duration `yaml:"initialInterval"`
}

type contentTypeConfig struct {
	AutoDetect *bool `yaml:"autoDetect"`
}

type grpcWebConfig struct {
	AllowOrigins []string `yaml:"allowOrigins"`
}
