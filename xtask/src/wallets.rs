//! Throwaway WeChat and Alipay apps for the sandbox's simulated sign-in:
//! app ids, a WeChat app secret and two RSA key pairs (the app's, whose
//! private half the Worker signs with, and "Alipay's", whose private half
//! the sandbox signs its answers with), generated per run.

use std::path::Path;

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::RsaPrivateKey;

use crate::{fail, Result};

/// One run's simulated wallet apps.
pub struct Wallets {
    /// `WECHAT_APPID`.
    pub wechat_app_id: String,
    wechat_secret: String,
    /// `ALIPAY_APP_ID`.
    pub alipay_app_id: String,
    /// The app's private key, PKCS#8 DER as base64 (a one-line secret).
    app_private_b64: String,
    /// Alipay's public key, SPKI DER as base64 (as Alipay's console shows it).
    alipay_public_b64: String,
    app_public_pem: std::path::PathBuf,
    alipay_private_pem: std::path::PathBuf,
}

/// The base64 body of a PEM document (the DER, without the armour).
fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn key_pair(bits: usize) -> Result<(String, String)> {
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits)
        .map_err(|e| fail!("RSA key generation: {e}"))?;
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| fail!("PKCS#8: {e}"))?
        .to_string();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| fail!("SPKI: {e}"))?;
    Ok((private, public))
}

impl Wallets {
    /// New apps and keys; the sandbox's key files are written to `run_dir`.
    pub fn generate(
        run_dir: &Path,
        random_hex: impl Fn(usize) -> Result<String>,
    ) -> Result<Wallets> {
        let (app_private, app_public) = key_pair(2048)?;
        let (alipay_private, alipay_public) = key_pair(2048)?;
        let app_public_pem = run_dir.join("alipay-app-public.pem");
        let alipay_private_pem = run_dir.join("alipay-private.pem");
        std::fs::write(&app_public_pem, app_public)?;
        std::fs::write(&alipay_private_pem, alipay_private)?;
        let digits: String = random_hex(6)?
            .bytes()
            .map(|b| char::from(b'0' + b % 10))
            .collect();
        Ok(Wallets {
            wechat_app_id: format!("wx{}", random_hex(8)?),
            wechat_secret: random_hex(16)?,
            alipay_app_id: format!("2021{digits}"),
            app_private_b64: pem_body(&app_private),
            alipay_public_b64: pem_body(&alipay_public),
            app_public_pem,
            alipay_private_pem,
        })
    }

    /// The sandbox's flags that register both apps.
    pub fn sandbox_args(&self) -> Vec<String> {
        vec![
            "--wechat-app".into(),
            format!("{}={}", self.wechat_app_id, self.wechat_secret),
            "--alipay-app".into(),
            format!("{}={}", self.alipay_app_id, self.app_public_pem.display()),
            "--alipay-private-key".into(),
            self.alipay_private_pem.display().to_string(),
        ]
    }

    /// The Worker's vars, all pointing at the sandbox.
    pub fn vars(&self, sandbox_url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("WECHAT_APPID", self.wechat_app_id.clone()),
            ("WECHAT_OAUTH_BASE", sandbox_url.to_owned()),
            ("WECHAT_API_BASE", sandbox_url.to_owned()),
            ("ALIPAY_APP_ID", self.alipay_app_id.clone()),
            ("ALIPAY_OAUTH_BASE", sandbox_url.to_owned()),
            ("ALIPAY_GATEWAY_URL", format!("{sandbox_url}/gateway.do")),
            ("ALIPAY_PUBLIC_KEY", self.alipay_public_b64.clone()),
        ]
    }

    /// The Worker's secrets, as `.dev.vars` lines.
    pub fn dev_vars(&self) -> String {
        format!(
            "WECHAT_APP_SECRET=\"{}\"\nALIPAY_APP_PRIVATE_KEY=\"{}\"\n",
            self.wechat_secret, self.app_private_b64
        )
    }
}
