@decision-table
Feature: The decision table: mode x credential x location
  Spec section 4, whole: what each mode does with no key, a wrong key and a valid key,
  wherever the key is read from. Every row first shows that the policy is in force: a
  valid key at that place is taken off the request before it reaches httpbin.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied

  @APIKEY-CORE-010 @APIKeyCore
  Scenario Outline: <mode> mode, <credential> key in the Authorization header
    Given I apply a <mode> policy on the Gateway
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: <mode>
            secretRef:
              name: apikey
      """
    And the gateway is enforcing it: a valid key in the Authorization header is taken off the request
    When I send a request to the httpbin app with <credential> key in the Authorization header
    Then <outcome>

    Examples:
      | mode     | credential | outcome                                         |
      | Strict   | no         | the request is refused with "no API Key found"  |
      | Strict   | an invalid | the request is refused with "invalid credentials" |
      | Strict   | a valid    | the request is forwarded without the credential |
      | Optional | no         | the request is forwarded                        |
      | Optional | an invalid | the request is refused with "invalid credentials" |
      | Optional | a valid    | the request is forwarded without the credential |

    @PermissiveMode
    Examples:
      | mode       | credential | outcome                                              |
      | Permissive | no         | the request is forwarded                             |
      | Permissive | an invalid | the request is forwarded with the credential left in place |
      | Permissive | a valid    | the request is forwarded without the credential      |

  @APIKEY-CORE-013 @APIKeyCore
  Scenario: A policy without a mode is Strict
    Given I apply a policy without a mode on the Gateway
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            secretRef:
              name: apikey
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with an invalid key in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-014 @PermissiveMode
  Scenario: Permissive mode with zero keys lets every request through, credential in place
    Given I apply a Permissive policy on the Gateway
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Permissive
            secretRef:
              name: apikey
      """
    And the gateway is enforcing it: a valid key in the Authorization header is taken off the request
    When I apply a Permissive policy whose selector matches no Secret
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Permissive
            secretSelector:
              matchLabels:
                app: nothing-has-this-label
      """
    And I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded with the credential left in place
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is forwarded

  @APIKEY-EXT-011 @KeyLocation
  Scenario Outline: <mode> mode, <credential> key in <place>
    Given I apply a <mode> policy on the Gateway that reads the key from <place>
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: <mode>
            secretRef:
              name: apikey
            location: <location>
      """
    And the gateway is enforcing it: a valid key in <place> is taken off the request
    When I send a request to the httpbin app with <credential> key in <place>
    Then <outcome>

    Examples: a custom header, no prefix
      | mode     | credential | place                | location                        | outcome                                           |
      | Strict   | no         | the X-Api-Key header | {header: {name: X-Api-Key}}     | the request is refused with "no API Key found"    |
      | Strict   | an invalid | the X-Api-Key header | {header: {name: X-Api-Key}}     | the request is refused with "invalid credentials" |
      | Strict   | a valid    | the X-Api-Key header | {header: {name: X-Api-Key}}     | the request is forwarded without the credential   |
      | Optional | no         | the X-Api-Key header | {header: {name: X-Api-Key}}     | the request is forwarded                          |

    Examples: a custom header with a prefix
      | mode     | credential | place                                     | location                                   | outcome                                           |
      | Strict   | no         | the X-Auth header after the prefix Token  | {header: {name: X-Auth, prefix: "Token "}} | the request is refused with "no API Key found"    |
      | Strict   | an invalid | the X-Auth header after the prefix Token  | {header: {name: X-Auth, prefix: "Token "}} | the request is refused with "invalid credentials" |
      | Strict   | a valid    | the X-Auth header after the prefix Token  | {header: {name: X-Auth, prefix: "Token "}} | the request is forwarded without the credential   |
      | Optional | no         | the X-Auth header after the prefix Token  | {header: {name: X-Auth, prefix: "Token "}} | the request is forwarded                          |

    Examples: a query parameter
      | mode     | credential | place                       | location                           | outcome                                           |
      | Strict   | no         | the api_key query parameter | {queryParameter: {name: api_key}}  | the request is refused with "no API Key found"    |
      | Strict   | an invalid | the api_key query parameter | {queryParameter: {name: api_key}}  | the request is refused with "invalid credentials" |
      | Strict   | a valid    | the api_key query parameter | {queryParameter: {name: api_key}}  | the request is forwarded without the credential   |
      | Optional | no         | the api_key query parameter | {queryParameter: {name: api_key}}  | the request is forwarded                          |

    Examples: a cookie
      | mode     | credential | place              | location                   | outcome                                           |
      | Strict   | no         | the session cookie | {cookie: {name: session}}  | the request is refused with "no API Key found"    |
      | Strict   | an invalid | the session cookie | {cookie: {name: session}}  | the request is refused with "invalid credentials" |
      | Strict   | a valid    | the session cookie | {cookie: {name: session}}  | the request is forwarded without the credential   |
      | Optional | no         | the session cookie | {cookie: {name: session}}  | the request is forwarded                          |

    @PermissiveMode
    Examples: Permissive leaves a wrong key where it was, wherever that is
      | mode       | credential | place                                    | location                                   | outcome                                                    |
      | Permissive | an invalid | the X-Api-Key header                     | {header: {name: X-Api-Key}}                | the request is forwarded with the credential left in place |
      | Permissive | an invalid | the X-Auth header after the prefix Token | {header: {name: X-Auth, prefix: "Token "}} | the request is forwarded with the credential left in place |
      | Permissive | an invalid | the api_key query parameter              | {queryParameter: {name: api_key}}          | the request is forwarded with the credential left in place |
      | Permissive | an invalid | the session cookie                       | {cookie: {name: session}}                  | the request is forwarded with the credential left in place |

  @APIKEY-EXT-012 @ExpressionLocation
  Scenario: A CEL expression selects the key
    Given I apply a Strict policy on the Gateway that reads the key with an expression
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: apikey
            location:
              expression: 'request.headers["x-api-key"]'
      """
    When I send a request to the httpbin app with no key in the X-Api-Key header
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with a valid key in the X-Api-Key header
    Then the request is forwarded
