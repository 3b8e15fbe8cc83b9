//! The deployment files agree with the code. No Docker engine runs where keel is developed, so
//! `docker-compose.yml`, the `Dockerfile`, `deploy/` and `config/keel.example.toml` are read here
//! with real parsers and checked against keel's own settings (`keel::config::Config`) and the real
//! binary: every variable names a setting, the ports, hosts, users and passwords line up, and
//! `keel config check` accepts the compose file's environment and the example configuration.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keel::config::{Config, EmailSettings, MatrixSettings, SlackSettings};
use regex::{Captures, Regex};
use serde_json::{json, Value as Json};
use serde_yaml_ng::Value as Yaml;
use url::Url;

/// The settings serde does not write (`skip_serializing`): the secrets, which come from the
/// environment only. `the_secrets_are_the_fields_serde_leaves_out` keeps this list true.
const SECRETS: [&str; 6] = [
    "email.password",
    "matrix.password",
    "matrix.access_token",
    "slack.bot_token",
    "slack.app_token",
    "slack.signing_secret",
];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// keel's settings, from its own `Config`

/// `Config::default()` with the optional sections present, so that their keys show too.
fn every_section() -> Config {
    Config {
        matrix: Some(MatrixSettings::default()),
        slack: Some(SlackSettings::default()),
        email: Some(EmailSettings::default()),
        ..Config::default()
    }
}

/// The dotted paths (`matrix.team`) in a JSON object: its leaves, or every node.
fn paths(value: &Json, prefix: &str, leaves_only: bool, out: &mut BTreeSet<String>) {
    if let Json::Object(map) = value {
        for (key, child) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if !leaves_only || !child.is_object() {
                out.insert(path.clone());
            }
            paths(child, &path, leaves_only, out);
        }
    }
}

fn leaves(value: &Json) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    paths(value, "", true, &mut out);
    out
}

/// Every setting keel has: what serde writes of the configuration with every section, and the
/// secrets.
fn settings() -> BTreeSet<String> {
    let mut all = leaves(&serde_json::to_value(every_section()).expect("the config serializes"));
    all.extend(SECRETS.iter().map(|s| s.to_string()));
    all
}

/// The setting a `KEEL_…` variable sets, read as `Config::load` reads it with figment
/// (`KEEL_MATRIX__TEAM` is `matrix.team`, `KEEL_DATABASE_URL` is `database_url`).
fn setting_of(variable: &str) -> Option<String> {
    let rest = variable.strip_prefix("KEEL_")?;
    Some(rest.to_lowercase().split("__").collect::<Vec<_>>().join("."))
}

/// The value at a dotted path.
fn at<'a>(value: &'a Json, path: &str) -> &'a Json {
    value
        .pointer(&format!("/{}", path.replace('.', "/")))
        .unwrap_or(&Json::Null)
}

/// Equal values, numbers compared as numbers (`1` in TOML is the default `1.0`).
fn same(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Every field `{:#?}` shows of a configuration, as dotted paths: the derived `Debug` lists the
/// secrets too (redacted), which serde leaves out.
fn debug_paths(config: &Config) -> BTreeSet<String> {
    let text = format!("{config:#?}");
    let mut open: Vec<(usize, String)> = Vec::new();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let Some((name, _)) = line.trim_start().split_once(": ") else {
            continue;
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            continue;
        }
        while open.last().is_some_and(|(i, _)| *i >= indent) {
            open.pop();
        }
        let path: Vec<&str> = open.iter().map(|(_, n)| n.as_str()).chain([name]).collect();
        out.insert(path.join("."));
        open.push((indent, name.to_string()));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml, with compose's interpolation from deploy/env.example

/// `deploy/env.example` as compose reads `.env`.
fn env_example() -> BTreeMap<String, String> {
    dotenvy::from_path_iter(repo("deploy/env.example"))
        .expect("deploy/env.example")
        .map(|line| line.expect("deploy/env.example is dotenv syntax"))
        .collect()
}

/// Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
/// `${VAR?error}`, `$VAR` and `$$`. No crate does compose's rules; these few keep the URLs and
/// names comparable and fail, as `docker compose` does, on a variable that is needed and not set.
fn interpolate(text: &str, vars: &BTreeMap<String, String>, used: &mut BTreeSet<String>) -> String {
    let reference = Regex::new(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$)|\{)").unwrap();
    let expression = Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?$").unwrap();
    let value = |found: &Captures| {
        if found.get(3).is_some() {
            return "$".to_string();
        }
        let inner = found
            .get(1)
            .or(found.get(2))
            .unwrap_or_else(|| panic!("unclosed ${{ in {text:?}"));
        let parts = expression.captures(inner.as_str()).unwrap_or_else(|| {
            panic!(
                "docker-compose.yml: {} is not an interpolation this test knows",
                &found[0]
            )
        });
        let (name, op) = (&parts[1], parts.get(2).map_or("", |m| m.as_str()));
        used.insert(name.to_string());
        match vars.get(name).filter(|v| !(op.starts_with(':') && v.is_empty())) {
            Some(value) => value.clone(),
            None if op.ends_with('-') => parts[3].to_string(),
            None => panic!("docker-compose.yml needs ${name}, which deploy/env.example does not set"),
        }
    };
    reference.replace_all(text, value).into_owned()
}

fn interpolate_all(value: &mut Yaml, vars: &BTreeMap<String, String>, used: &mut BTreeSet<String>) {
    match value {
        Yaml::String(s) => *s = interpolate(s, vars, used),
        Yaml::Sequence(items) => items.iter_mut().for_each(|v| interpolate_all(v, vars, used)),
        Yaml::Mapping(map) => map.values_mut().for_each(|v| interpolate_all(v, vars, used)),
        Yaml::Tagged(tagged) => interpolate_all(&mut tagged.value, vars, used),
        _ => {}
    }
}

fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A string or a list of strings (`command`, `entrypoint`, a healthcheck's `test`), as words.
fn words_of(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Sequence(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other)
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
    }
}

/// docker-compose.yml as `docker compose` sees it with `.env` copied from deploy/env.example.
struct Compose {
    doc: Yaml,
    /// The variables it interpolates.
    used: BTreeSet<String>,
}

fn compose() -> Compose {
    let mut doc: Yaml = serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML");
    let mut used = BTreeSet::new();
    interpolate_all(&mut doc, &env_example(), &mut used);
    Compose { doc, used }
}

impl Compose {
    fn services(&self) -> Vec<String> {
        self.doc["services"]
            .as_mapping()
            .expect("docker-compose.yml has services")
            .keys()
            .filter_map(scalar)
            .collect()
    }

    fn service(&self, name: &str) -> &Yaml {
        let service = &self.doc["services"][name];
        assert!(service.is_mapping(), "docker-compose.yml has no service {name}");
        service
    }

    /// A service's `environment`, in either of compose's forms.
    fn environment(&self, name: &str) -> BTreeMap<String, String> {
        match &self.service(name)["environment"] {
            Yaml::Mapping(map) => map
                .iter()
                .filter_map(|(k, v)| Some((scalar(k)?, scalar(v).unwrap_or_default())))
                .collect(),
            Yaml::Sequence(items) => items
                .iter()
                .filter_map(scalar)
                .map(|item| match item.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (item, String::new()),
                })
                .collect(),
            _ => BTreeMap::new(),
        }
    }

    fn env(&self, service: &str, variable: &str) -> String {
        self.environment(service)
            .remove(variable)
            .unwrap_or_else(|| panic!("docker-compose.yml: the {service} service does not set {variable}"))
    }

    /// What a service depends on, with the condition it waits for.
    fn depends_on(&self, name: &str) -> BTreeMap<String, String> {
        match &self.service(name)["depends_on"] {
            Yaml::Sequence(items) => items
                .iter()
                .filter_map(scalar)
                .map(|s| (s, "service_started".to_string()))
                .collect(),
            Yaml::Mapping(map) => map
                .iter()
                .filter_map(|(k, v)| {
                    let condition = scalar(&v["condition"]).unwrap_or_else(|| "service_started".into());
                    Some((scalar(k)?, condition))
                })
                .collect(),
            _ => BTreeMap::new(),
        }
    }

    /// The container ports a service publishes.
    fn published(&self, name: &str) -> Vec<u16> {
        let Some(ports) = self.service(name)["ports"].as_sequence() else {
            return Vec::new();
        };
        ports
            .iter()
            .filter_map(|p| match p {
                Yaml::Mapping(_) => scalar(&p["target"]),
                other => scalar(other).map(|s| s.rsplit(':').next().unwrap_or_default().to_string()),
            })
            .map(|s| {
                let port = s.split('/').next().unwrap_or_default();
                port.parse()
                    .unwrap_or_else(|_| panic!("docker-compose.yml: {name} publishes {s:?}, not a port"))
            })
            .collect()
    }

    /// A service's volumes as (source, target).
    fn volumes(&self, name: &str) -> Vec<(String, String)> {
        let Some(volumes) = self.service(name)["volumes"].as_sequence() else {
            return Vec::new();
        };
        volumes
            .iter()
            .filter_map(|v| match v {
                Yaml::Mapping(_) => Some((scalar(&v["source"])?, scalar(&v["target"])?)),
                other => {
                    let s = scalar(other)?;
                    let mut parts = s.split(':');
                    Some((parts.next()?.to_string(), parts.next()?.to_string()))
                }
            })
            .collect()
    }

    fn named_volumes(&self) -> BTreeSet<String> {
        self.doc["volumes"]
            .as_mapping()
            .map(|m| m.keys().filter_map(scalar).collect())
            .unwrap_or_default()
    }

    fn healthcheck(&self, name: &str) -> String {
        words_of(&self.service(name)["healthcheck"]["test"]).join(" ")
    }

    /// The container's command line: entrypoint, then command.
    fn command_line(&self, name: &str) -> Vec<String> {
        let service = self.service(name);
        let mut line = words_of(&service["entrypoint"]);
        line.extend(words_of(&service["command"]));
        line
    }

    /// The one-shot service that creates keel's Matrix account.
    fn registration(&self) -> String {
        let found: Vec<String> = self
            .services()
            .into_iter()
            .filter(|s| {
                self.command_line(s)
                    .iter()
                    .any(|w| w.contains("register_new_matrix_user"))
            })
            .collect();
        assert_eq!(found.len(), 1, "one service registers keel's Matrix account: {found:?}");
        found[0].clone()
    }
}

/// A URL of the compose file, parsed.
fn url(text: &str) -> Url {
    Url::parse(text).unwrap_or_else(|e| panic!("{text:?} is not a URL: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The Dockerfile: instructions by stage

/// A build stage: the words of its `FROM` and its instructions (keyword, arguments).
struct Stage {
    from: Vec<String>,
    instructions: Vec<(String, String)>,
}

/// The Dockerfile's stages, as Docker reads them: comment lines dropped, then continued lines
/// joined. No argument in it quotes a space, so words are split at white space.
fn dockerfile() -> Vec<Stage> {
    let text: Vec<String> = read("Dockerfile")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(String::from)
        .collect();
    assert!(
        !text
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim_end().ends_with('\\')),
        "the Dockerfile ends in a line continuation"
    );
    let mut stages: Vec<Stage> = Vec::new();
    for line in text.join("\n").replace("\\\n", " ").lines().map(str::trim) {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let (keyword, args) = (keyword.to_uppercase(), args.trim().to_string());
        if keyword == "FROM" {
            let from = args.split_whitespace().map(String::from).collect();
            stages.push(Stage {
                from,
                instructions: Vec::new(),
            });
        } else if !keyword.is_empty() {
            let stage = stages.last_mut().unwrap_or_else(|| panic!("{keyword} before FROM"));
            stage.instructions.push((keyword, args));
        }
    }
    stages
}

impl Stage {
    fn image(&self) -> &str {
        self.from
            .iter()
            .find(|w| !w.starts_with("--"))
            .expect("FROM names an image")
    }

    /// The `AS` name.
    fn name(&self) -> Option<&str> {
        let at = self.from.iter().position(|w| w.eq_ignore_ascii_case("as"))?;
        self.from.get(at + 1).map(String::as_str)
    }

    fn all(&self, keyword: &str) -> Vec<&str> {
        self.instructions
            .iter()
            .filter(|(k, _)| k == keyword)
            .map(|(_, args)| args.as_str())
            .collect()
    }

    fn last(&self, keyword: &str) -> Option<&str> {
        self.all(keyword).pop()
    }

    /// Every `ENV` of the stage (`ENV NAME=value …`).
    fn env(&self) -> BTreeMap<String, String> {
        self.all("ENV")
            .iter()
            .flat_map(|args| args.split_whitespace())
            .map(|word| {
                let (k, v) = word
                    .split_once('=')
                    .unwrap_or_else(|| panic!("ENV {word}: not NAME=value"));
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    /// An exec-form (`["…"]`) instruction's words.
    fn exec(&self, keyword: &str) -> Vec<String> {
        let args = self
            .last(keyword)
            .unwrap_or_else(|| panic!("the final stage has no {keyword}"));
        serde_json::from_str(args).unwrap_or_else(|_| panic!("{keyword} {args} is not in exec form"))
    }

    /// `COPY` instructions as (from stage, sources, destination).
    fn copies(&self) -> Vec<(Option<String>, Vec<String>, String)> {
        self.all("COPY")
            .into_iter()
            .map(|args| {
                let words: Vec<&str> = args.split_whitespace().collect();
                let from = words.iter().find_map(|w| w.strip_prefix("--from=")).map(String::from);
                let mut paths: Vec<String> = words
                    .into_iter()
                    .filter(|w| !w.starts_with("--"))
                    .map(String::from)
                    .collect();
                let destination = paths.pop().expect("COPY has a destination");
                (from, paths, destination)
            })
            .collect()
    }
}

fn final_stage(stages: &[Stage]) -> &Stage {
    stages.last().expect("the Dockerfile has a stage")
}

/// Whether `.dockerignore`'s `pattern` leaves out `path`: Docker matches the pattern (`*` within a
/// name, `**/` any directories) against the path and each directory above it.
fn ignored(pattern: &str, path: &str) -> bool {
    let glob = globset::GlobBuilder::new(pattern.trim_matches('/'))
        .literal_separator(true)
        .build()
        .unwrap_or_else(|e| panic!(".dockerignore: {pattern}: {e}"))
        .compile_matcher();
    let segments: Vec<&str> = path.split('/').collect();
    (1..=segments.len()).any(|n| glob.is_match(segments[..n].join("/")))
}

// ---------------------------------------------------------------------------------------------
// The real binary

/// Runs `keel` with nothing of this process's environment but `vars`, in an empty directory (so
/// no config/keel.toml of the developer's is read), as the container runs it.
fn keel(args: &[&str], vars: &BTreeMap<String, String>) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .env_clear()
        .envs(vars)
        .current_dir(dir.path())
        .output()
        .expect("the keel binary runs")
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn the_secrets_are_the_fields_serde_leaves_out() {
    let config = every_section();
    let mut written = BTreeSet::new();
    paths(&serde_json::to_value(&config).unwrap(), "", false, &mut written);
    let shown = debug_paths(&config);
    assert!(
        written.is_subset(&shown),
        "Debug shows every field serde writes: {:?}",
        written.difference(&shown).collect::<Vec<_>>()
    );
    let left_out: BTreeSet<&str> = shown.difference(&written).map(String::as_str).collect();
    assert_eq!(
        left_out,
        BTreeSet::from(SECRETS),
        "the fields serde does not write are the secrets this test lists"
    );
    for secret in SECRETS {
        let (section, key) = secret.split_once('.').unwrap();
        let read = |value: Json| format!("{:?}", serde_json::from_value::<Config>(value).unwrap());
        assert_ne!(
            read(json!({ section: { key: "dummy" } })),
            read(json!({ section: {} })),
            "{secret} is read from the environment"
        );
    }
}

#[test]
fn every_keel_variable_in_the_compose_file_and_the_dockerfile_is_a_setting() {
    let settings = settings();
    let compose = compose();
    let stages = dockerfile();
    let mut given = Vec::new();
    for service in compose.services() {
        for variable in compose.environment(&service).into_keys() {
            given.push((format!("docker-compose.yml, service {service}"), variable));
        }
    }
    for variable in final_stage(&stages).env().into_keys() {
        given.push(("Dockerfile".to_string(), variable));
    }
    let keel_variables: Vec<_> = given.iter().filter(|(_, v)| v.starts_with("KEEL_")).collect();
    assert!(
        keel_variables.len() >= 8,
        "keel is configured through KEEL_ variables: {given:?}"
    );
    for (place, variable) in keel_variables {
        let setting = setting_of(variable).unwrap();
        assert!(
            settings.contains(&setting),
            "{place}: {variable} would set {setting}, which is not one of keel's settings: {settings:?}"
        );
    }
}

#[test]
fn keel_listens_in_the_container_on_the_port_the_image_exposes_and_compose_publishes() {
    let stages = dockerfile();
    let image = final_stage(&stages);
    let listen = image
        .env()
        .remove("KEEL_HTTP__LISTEN")
        .expect("the image sets KEEL_HTTP__LISTEN: keel's default 127.0.0.1 is out of reach from outside");
    let address: SocketAddr = listen.parse().expect("KEEL_HTTP__LISTEN is an address");
    assert!(
        address.ip().is_unspecified(),
        "keel listens on every interface of the container: {listen}"
    );
    let exposed: Vec<u16> = image
        .all("EXPOSE")
        .iter()
        .flat_map(|a| a.split_whitespace())
        .map(|p| p.trim_end_matches("/tcp").parse().expect("EXPOSE names a port"))
        .collect();
    assert_eq!(exposed, [address.port()], "the image exposes the port keel listens on");

    let compose = compose();
    let in_compose: SocketAddr = compose.env("keel", "KEEL_HTTP__LISTEN").parse().unwrap();
    assert_eq!(in_compose, address, "compose and the image agree on the address");
    assert_eq!(
        compose.published("keel"),
        [address.port()],
        "compose publishes that port"
    );
    let health = compose.healthcheck("keel");
    assert!(
        health.contains(&format!("127.0.0.1/{}", address.port())) && health.contains("/healthz"),
        "keel's healthcheck asks /healthz on its port: {health}"
    );
}

#[test]
fn keel_starts_once_postgres_is_healthy_and_its_matrix_account_exists() {
    let compose = compose();
    let registration = compose.registration();
    let keel = compose.depends_on("keel");
    assert_eq!(
        keel.get("postgres").map(String::as_str),
        Some("service_healthy"),
        "{keel:?}"
    );
    assert_eq!(
        keel.get(&registration).map(String::as_str),
        Some("service_completed_successfully"),
        "{keel:?}"
    );
    assert!(compose.healthcheck("postgres").contains("pg_isready"));
    assert_eq!(
        compose.depends_on(&registration).get("synapse").map(String::as_str),
        Some("service_healthy"),
        "the account is created once Synapse answers"
    );
    assert!(compose.healthcheck("synapse").contains("/health"));
    let restart = scalar(&compose.service(&registration)["restart"]).unwrap_or_else(|| "no".into());
    assert_eq!(restart, "no", "a one-shot service that restarts never completes");
}

#[test]
fn the_database_url_is_the_postgres_service_with_its_user_password_and_database() {
    let compose = compose();
    let db = url(&compose.env("keel", "KEEL_DATABASE_URL"));
    assert!(db.scheme() == "postgres" || db.scheme() == "postgresql", "{db}");
    assert_eq!(db.host_str(), Some("postgres"), "the host is the postgres service");
    let _ = compose.service(db.host_str().unwrap_or_default());
    assert_eq!(db.port().unwrap_or(5432), 5432, "the port PostgreSQL listens on");
    let user = compose.env("postgres", "POSTGRES_USER");
    assert_eq!(db.username(), user);
    assert_eq!(
        db.password(),
        Some(compose.env("postgres", "POSTGRES_PASSWORD").as_str())
    );
    let database = compose.environment("postgres").remove("POSTGRES_DB").unwrap_or(user);
    assert_eq!(db.path(), format!("/{database}"));
    let volumes = compose.volumes("postgres");
    assert!(
        volumes
            .iter()
            .any(|(source, target)| target == "/var/lib/postgresql/data" && compose.named_volumes().contains(source)),
        "PostgreSQL keeps its data on a named volume: {volumes:?}"
    );
}

#[test]
fn keel_signs_in_to_the_synapse_service_as_the_account_the_registration_creates() {
    let compose = compose();
    let homeserver = url(&compose.env("keel", "KEEL_MATRIX__HOMESERVER"));
    assert_eq!(
        homeserver.host_str(),
        Some("synapse"),
        "keel's homeserver is the synapse service"
    );

    // Synapse's own configuration, as deploy/synapse/start.sh writes it in the container.
    let mounted = compose.volumes("synapse");
    let (_, config_dir) = mounted
        .iter()
        .find(|(source, _)| source.trim_end_matches('/') == "./deploy/synapse")
        .expect("deploy/synapse is mounted into the synapse service");
    let entrypoint = compose.command_line("synapse");
    let script = entrypoint
        .iter()
        .find(|w| w.starts_with(config_dir.as_str()))
        .expect("it starts start.sh");
    assert!(
        repo(&script.replacen(config_dir.as_str(), "deploy/synapse", 1)).is_file(),
        "{script} exists"
    );
    let synapse_env = compose.environment("synapse");
    // Filled in as start.sh fills it in: each ${NAME} from the service's environment.
    let needed = |found: &Captures| {
        let name = &found[1];
        synapse_env
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("homeserver.yaml needs {name}, which the synapse service does not set"))
    };
    let template = read("deploy/synapse/homeserver.yaml");
    let template = Regex::new(r"\$\{(\w+)\}").unwrap().replace_all(&template, needed);
    let synapse: Yaml = serde_yaml_ng::from_str(&template).expect("homeserver.yaml is YAML");
    let server_name = scalar(&synapse["server_name"]).expect("server_name");
    assert_eq!(server_name, synapse_env["SYNAPSE_SERVER_NAME"]);
    let port = homeserver.port_or_known_default().expect("a port");
    let listener = synapse["listeners"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|l| l["port"].as_u64() == Some(port.into()))
        .unwrap_or_else(|| panic!("Synapse listens on {port}, the port of {homeserver:?}"));
    assert_eq!(listener["tls"].as_bool(), Some(false), "plain HTTP, as keel's URL says");
    assert!(
        words_of(&listener["resources"][0]["names"]).contains(&"client".to_string()),
        "the listener serves the client API"
    );
    assert!(compose.healthcheck("synapse").contains(&format!(":{port}/")));
    assert_eq!(synapse["trusted_key_servers"].as_sequence().map(Vec::len), Some(0));
    assert_eq!(synapse["report_stats"].as_bool(), Some(false));
    assert_eq!(synapse["enable_registration"].as_bool(), Some(false));

    // The registration creates the account keel signs in with.
    let registration = compose.registration();
    let line = compose.command_line(&registration);
    let option = |name: &str| {
        let i = line
            .iter()
            .position(|w| w == name)
            .unwrap_or_else(|| panic!("{name} in {line:?}"));
        line[i + 1].clone()
    };
    assert!(
        line.contains(&"--exists-ok".to_string()),
        "a second start finds the account and succeeds"
    );
    assert!(line.contains(&"--no-admin".to_string()), "keel is no homeserver admin");
    assert_eq!(
        compose.env("keel", "KEEL_MATRIX__USER"),
        format!("@{}:{server_name}", option("-u"))
    );
    assert_eq!(option("-p"), compose.env("keel", "KEEL_MATRIX__PASSWORD"));
    assert_eq!(
        Some(&option("-k")),
        scalar(&synapse["registration_shared_secret"]).as_ref()
    );
    assert_eq!(line.last(), Some(&compose.env("keel", "KEEL_MATRIX__HOMESERVER")));
    assert_eq!(
        compose.service(&registration)["image"],
        compose.service("synapse")["image"],
        "the registration uses the homeserver's own tool"
    );

    let team: Vec<String> =
        serde_json::from_str(&compose.env("keel", "KEEL_MATRIX__TEAM")).expect("KEEL_MATRIX__TEAM is a list");
    assert!(
        team.contains(&server_name),
        "the team is the homeserver's users: {team:?}"
    );
    let store = compose.env("keel", "KEEL_MATRIX__STORE_PATH");
    assert!(
        compose.volumes("keel").iter().any(
            |(source, target)| store.starts_with(&format!("{target}/")) && compose.named_volumes().contains(source)
        ),
        "keel's Matrix session and keys ({store}) are on a volume"
    );
}

#[test]
fn the_compose_files_keel_environment_passes_keel_config_check() {
    let compose = compose();
    let stages = dockerfile();
    // The container's environment: the image's, then the service's; the secrets dummies.
    let mut vars = final_stage(&stages).env();
    vars.extend(compose.environment("keel"));
    for (variable, value) in vars.iter_mut() {
        if setting_of(variable).is_some_and(|s| SECRETS.contains(&s.as_str())) {
            *value = "dummy-secret".into();
        }
    }
    // The database: the test suite's PostgreSQL (config check only connects), through the
    // compose file's scheme, with a password so that the check shows it hidden.
    let mut db = url(&support::postgres_admin_url());
    db.set_scheme(url(&vars["KEEL_DATABASE_URL"]).scheme())
        .expect("a PostgreSQL scheme");
    if db.password().is_none() {
        db.set_password(Some("dummy")).expect("a password");
    }
    let hidden = |url: &Url| {
        let mut shown = url.clone();
        shown.set_password(Some("***")).expect("a password");
        shown
    };
    vars.insert("KEEL_DATABASE_URL".into(), db.to_string());
    let out = keel(&["config", "check"], &vars);
    let stderr = lines(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr:?}");
    assert!(stderr.is_empty(), "no configuration problem: {stderr:#?}");
    assert_eq!(
        lines(&out.stdout),
        [format!(
            "configuration ok: database {}, team time zone {}, business hours 09:00-17:00, matrix {} on {}",
            hidden(&db),
            vars["KEEL_TEAM__TIMEZONE"],
            vars["KEEL_MATRIX__USER"],
            vars["KEEL_MATRIX__HOMESERVER"]
        )]
    );

    // A database the server refuses: the check stops there, in one line with the server's reason.
    let mut absent = db.clone();
    absent.set_path("keel_no_such_database");
    vars.insert("KEEL_DATABASE_URL".into(), absent.to_string());
    let out = keel(&["config", "check"], &vars);
    let stderr = lines(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr:?}");
    assert!(lines(&out.stdout).is_empty());
    assert_eq!(stderr.len(), 1, "only the database: {stderr:#?}");
    let expected = format!("keel: cannot open database {}", hidden(&absent));
    assert!(
        stderr[0].starts_with(&expected) && stderr[0].contains("does not exist"),
        "{stderr:?}"
    );

    // The same check does name a bad setting, before it goes near the database.
    vars.remove("KEEL_MATRIX__TEAM");
    vars.insert("KEEL_LOG__FORMAT".into(), "yaml".into());
    let out = keel(&["config", "check"], &vars);
    assert_eq!(
        lines(&out.stderr),
        [
            "log.format: \"yaml\" is not text or json",
            "matrix.team: missing (the team's Matrix ids or servers; everyone else is a client)",
            "keel: 2 problem(s) in the configuration",
        ]
    );
}

#[test]
fn every_variable_the_compose_file_reads_is_in_env_example_and_every_one_there_is_read() {
    let compose = compose();
    let example = env_example();
    let given: BTreeSet<String> = example.keys().cloned().collect();
    assert_eq!(
        compose.used, given,
        "docker-compose.yml reads the variables of deploy/env.example"
    );
    assert!(
        !example.keys().any(|k| k.starts_with("KEEL_")),
        "env.example's names are compose's, not keel's settings"
    );
    let header = read("docker-compose.yml");
    assert!(
        header.contains("cp deploy/env.example .env"),
        "the compose file says how to make .env"
    );
}

#[test]
fn the_image_runs_keel_as_a_user_that_is_not_root_in_its_data_directory() {
    let stages = dockerfile();
    assert!(stages.len() >= 2, "a builder stage and a small runtime stage");
    let image = final_stage(&stages);
    let user = image.last("USER").expect("the final stage sets USER");
    let user = user.split(':').next().unwrap_or_default();
    let runs = image.all("RUN").join(" ");
    match user.parse::<u32>() {
        Ok(uid) => {
            assert_ne!(uid, 0, "USER is not root");
            assert!(
                runs.contains(&format!("--uid {uid}")),
                "the image creates user {uid}: {runs}"
            );
        }
        Err(_) => {
            assert_ne!(user, "root");
            assert!(
                runs.contains("useradd") && runs.contains(user),
                "the image creates {user}"
            );
        }
    }
    let workdir = image.last("WORKDIR").expect("WORKDIR");
    assert_eq!(workdir, "/var/lib/keel");
    let compose = compose();
    assert!(
        compose
            .volumes("keel")
            .iter()
            .any(|(source, target)| target == workdir && compose.named_volumes().contains(source)),
        "compose keeps keel's directory on a named volume"
    );

    let builder = stages[0].name().expect("the builder stage has a name");
    let entrypoint = image.exec("ENTRYPOINT");
    let binary = image
        .copies()
        .into_iter()
        .find(|(from, _, _)| from.as_deref() == Some(builder))
        .map(|(_, _, destination)| destination)
        .expect("the keel binary is copied from the builder");
    assert_eq!(entrypoint, [binary]);
    assert_eq!(image.exec("CMD"), ["run"]);

    // The playbooks are where playbooks_dir points.
    let dir = image
        .env()
        .remove("KEEL_PLAYBOOKS_DIR")
        .unwrap_or_else(|| format!("{workdir}/{}", Config::default().playbooks_dir));
    assert!(
        image.copies().iter().any(|(from, sources, destination)| from.is_none()
            && sources == &["config/playbooks"]
            && destination.trim_end_matches('/') == dir),
        "config/playbooks is copied to {dir}"
    );
    assert!(repo("config/playbooks/onboarding.toml").is_file());
}

#[test]
fn the_image_builds_keel_with_the_workspace_rust_version_and_everything_the_build_reads() {
    let manifest: toml::Value = read("Cargo.toml").parse().expect("Cargo.toml is TOML");
    let rust = manifest["workspace"]["package"]["rust-version"]
        .as_str()
        .expect("rust-version");
    let stages = dockerfile();
    let runtime = final_stage(&stages);
    let debian = runtime
        .image()
        .strip_prefix("debian:")
        .and_then(|tag| tag.strip_suffix("-slim"))
        .expect("the runtime is debian:<release>-slim");
    assert_eq!(
        stages[0].image(),
        format!("rust:{rust}-{debian}"),
        "the builder has the workspace's Rust on the runtime's Debian (same glibc)"
    );
    let build = stages[0].all("RUN").join(" ");
    assert!(build.contains("cargo build --release --locked -p keel"), "{build}");
    let installs = runtime.all("RUN").join(" ");
    assert!(
        installs.contains("ca-certificates"),
        "TLS roots for Slack and https homeservers"
    );

    let ignore = read(".dockerignore");
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .collect();
    let mut needed = vec![
        "Cargo.toml".to_string(),
        "Cargo.lock".into(),
        "src/main.rs".into(),
        "src/lib.rs".into(),
        "migrations/sqlite/0001_foundation.sql".into(),
        "migrations/postgres/0001_foundation.sql".into(),
        "assets/fonts/DejaVuSans.ttf".into(),
        "config/playbooks/onboarding.toml".into(),
    ];
    for member in manifest["workspace"]["members"].as_array().expect("workspace members") {
        let member = member.as_str().unwrap();
        if member != "." {
            needed.push(format!("{member}/Cargo.toml"));
            needed.push(format!("{member}/src"));
        }
    }
    for path in &needed {
        assert!(repo(path).exists(), "{path} exists");
        for pattern in &patterns {
            assert!(
                !ignored(pattern, path),
                ".dockerignore's {pattern} leaves out {path}, which the build reads"
            );
        }
    }
    for heavy in ["target/debug/keel", ".git/HEAD", "keel.db"] {
        assert!(
            patterns.iter().any(|p| ignored(p, heavy)),
            ".dockerignore leaves out {heavy}"
        );
    }
}

/// `config/keel.example.toml` with every commented `# key = value` and `# [table]` line taken in.
fn uncommented(text: &str) -> String {
    let key = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    text.lines()
        .map(|line| {
            let Some(rest) = line.strip_prefix('#') else {
                return line.to_string();
            };
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let is_setting = rest.split_once(" = ").is_some_and(|(k, _)| key(k));
            let is_table = rest
                .strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .is_some_and(|t| t.split('.').all(key));
            if is_setting || is_table {
                rest.to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn toml_json(text: &str, what: &str) -> Json {
    let value: toml::Value = toml::from_str(text).unwrap_or_else(|e| panic!("{what} is not TOML: {e}"));
    serde_json::to_value(value).unwrap()
}

#[test]
fn the_example_configuration_names_every_setting_with_its_default() {
    let text = read("config/keel.example.toml");
    let as_is = toml_json(&text, "config/keel.example.toml");
    let all = toml_json(&uncommented(&text), "config/keel.example.toml, uncommented");
    let defaults = serde_json::to_value(every_section()).unwrap();

    let documented = leaves(&all);
    let expected: BTreeSet<String> = settings()
        .into_iter()
        .filter(|s| !SECRETS.contains(&s.as_str()))
        .collect();
    assert_eq!(
        documented.difference(&expected).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "the example names no setting keel does not have"
    );
    assert_eq!(
        expected.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "the example names every setting"
    );
    for secret in SECRETS {
        let variable = format!("KEEL_{}", secret.replace('.', "__").to_uppercase());
        assert!(
            text.contains(&variable),
            "the example says {secret} comes from {variable}"
        );
    }

    for setting in leaves(&as_is) {
        assert!(
            same(at(&as_is, &setting), at(&defaults, &setting)),
            "{setting} = {} in the example, but its default is {}",
            at(&as_is, &setting),
            at(&defaults, &setting)
        );
    }
    // A commented line shows the default where there is one, an example where it is empty.
    for setting in documented.difference(&leaves(&as_is)) {
        let default = at(&defaults, setting);
        let empty = default.is_null() || *default == "" || *default == json!([]);
        assert!(
            empty || same(at(&all, setting), default),
            "# {setting} = {} in the example, but its default is {default}",
            at(&all, setting)
        );
    }
}

#[test]
fn the_example_configuration_passes_config_check_as_it_is_and_with_every_line_uncommented() {
    let out = keel(
        &[
            "config",
            "check",
            "--config",
            repo("config/keel.example.toml").to_str().unwrap(),
        ],
        &BTreeMap::new(),
    );
    assert!(out.status.success(), "{:?}", lines(&out.stderr));
    assert_eq!(
        lines(&out.stdout),
        ["configuration ok: database sqlite://keel.db, team time zone UTC, business hours 09:00-17:00"]
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keel.toml");
    std::fs::write(&file, uncommented(&read("config/keel.example.toml"))).unwrap();
    let secrets: BTreeMap<String, String> = [
        ("KEEL_MATRIX__PASSWORD", "dummy-password"),
        ("KEEL_EMAIL__PASSWORD", "dummy-password"),
        ("KEEL_SLACK__BOT_TOKEN", "xoxb-dummy"),
        ("KEEL_SLACK__APP_TOKEN", "xapp-dummy"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let out = keel(&["config", "check", "--config", file.to_str().unwrap()], &secrets);
    assert!(out.status.success(), "{:?}", lines(&out.stderr));
    assert_eq!(
        lines(&out.stdout),
        [
            "configuration ok: database sqlite://keel.db, team time zone UTC, business hours 09:00-17:00, \
          matrix @keel:example.org on https://matrix.example.org"
        ]
    );
}

#[test]
fn the_systemd_unit_runs_keel_as_its_own_user_writing_only_its_data_directory() {
    let unit: BTreeMap<String, String> = read("deploy/keel.service")
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let key = |k: &str| {
        unit.get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("keel.service sets {k}"))
    };
    assert_eq!(key("User"), "keel");
    let exec: Vec<&str> = key("ExecStart").split_whitespace().collect();
    assert_eq!(exec[0], "/usr/local/bin/keel");
    assert_eq!(exec[1], "run", "the unit runs keel run: {exec:?}");
    let config = exec.iter().position(|w| *w == "--config").map(|i| exec[i + 1]);
    assert_eq!(config, Some("/etc/keel/keel.toml"));
    // The binary takes that command line: given a file with a bad setting there, it stops on
    // that setting, not on its arguments.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keel.toml");
    std::fs::write(&file, "[log]\nformat = \"yaml\"\n").unwrap();
    let args: Vec<&str> = exec[1..]
        .iter()
        .map(|w| {
            if *w == "/etc/keel/keel.toml" {
                file.to_str().unwrap()
            } else {
                w
            }
        })
        .collect();
    let out = keel(&args, &BTreeMap::new());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        lines(&out.stderr),
        ["keel: invalid configuration: log.format: \"yaml\" is not text or json (see keel config check)"]
    );
    assert_eq!(key("WorkingDirectory"), "/var/lib/keel");
    assert_eq!(key("ReadWritePaths"), key("WorkingDirectory"));
    assert_eq!(key("ProtectSystem"), "strict");
    assert_eq!(key("NoNewPrivileges"), "yes");
    assert_eq!(key("PrivateTmp"), "yes");
    assert_eq!(key("Restart"), "on-failure");
    assert_eq!(key("EnvironmentFile"), "/etc/keel/keel.env");
    assert_eq!(key("KillSignal"), "SIGTERM");
}

/// What keel writes beside a SQLite file (its write-ahead log and its inbox journal) is never
/// committed by someone running keel inside a checkout.
#[test]
fn the_files_beside_a_database_are_ignored_by_git() {
    for path in [
        "keel.db",
        "keel.db-wal",
        "keel.db-inbox/0000000000000001.jsonl",
        "data/keel.db-inbox/lock",
    ] {
        let status = Command::new("git")
            .args(["check-ignore", "--no-index", "-q", path])
            .current_dir(repo(""))
            .status()
            .expect("git runs");
        assert!(status.success(), "{path} is not ignored by .gitignore");
    }
}

/// The Slack app's manifest asks for what keel uses: the events the adapter reads, the Home tab,
/// the "Track as task" message shortcut under the callback id keel answers, interactivity, the
/// `/keel` command, and the scopes of the Web API methods keel calls.
#[test]
fn the_slack_manifest_asks_for_what_keel_uses() {
    let manifest: Yaml = serde_yaml_ng::from_str(&read("slack/manifest.yml")).expect("slack/manifest.yml is YAML");
    let events = words_of(&manifest["settings"]["event_subscriptions"]["bot_events"]);
    for event in [
        "app_home_opened",
        "app_mention",
        "member_joined_channel",
        "message.channels",
        "message.groups",
        "message.im",
        "reaction_added",
    ] {
        assert!(events.iter().any(|e| e == event), "no {event} in {events:?}");
    }
    let home = &manifest["features"]["app_home"];
    assert_eq!(home["home_tab_enabled"].as_bool(), Some(true), "{home:?}");
    let shortcuts = manifest["features"]["shortcuts"].as_sequence().expect("shortcuts");
    assert!(
        shortcuts
            .iter()
            .any(|s| scalar(&s["type"]).as_deref() == Some("message")
                && scalar(&s["callback_id"]).as_deref() == Some(keel_chat::TRACK_FORM)
                && scalar(&s["name"]).as_deref() == Some("Track as task")),
        "{shortcuts:?}"
    );
    assert_eq!(
        manifest["settings"]["interactivity"]["is_enabled"].as_bool(),
        Some(true)
    );
    let commands = manifest["features"]["slash_commands"]
        .as_sequence()
        .expect("slash commands");
    assert!(commands
        .iter()
        .any(|c| scalar(&c["command"]).as_deref() == Some("/keel")));
    let scopes = words_of(&manifest["oauth_config"]["scopes"]["bot"]);
    for scope in [
        "chat:write",
        "commands",
        "im:write",
        "reactions:read",
        "reactions:write",
        "users:read",
        "files:write",
    ] {
        assert!(scopes.iter().any(|s| s == scope), "no {scope} in {scopes:?}");
    }
}
