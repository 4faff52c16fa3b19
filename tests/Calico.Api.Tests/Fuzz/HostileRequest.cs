using System.Globalization;
using System.Text;

namespace Calico.Api.Tests.Fuzz;

/// <summary>Who sends a request: the three tokens of <see cref="Harness.TokenApiServer"/>, none, or one nobody configured.</summary>
public enum Sender
{
    Demo,
    Other,
    Admin,
    NoToken,
    BadToken,
}

/// <summary>
/// One generated request, exactly as it goes on the wire (method, path with query, content type, body bytes), and
/// whether the generator meant it to succeed (<see cref="Plausible"/>) or built it to be refused.
/// </summary>
public sealed record HostileRequest(string Method, string Path, Sender Sender, string? ContentType, byte[]? Body, bool Plausible, string Collection)
{
    public bool IsRead => Method is "GET" or "HEAD" or "OPTIONS";

    /// <summary>The request in a form that can be pasted back: method, path, token, content type and body (escaped).</summary>
    public override string ToString()
    {
        var text = new StringBuilder($"{Method} {Path} (token: {Sender}");
        if (ContentType is not null) text.Append(CultureInfo.InvariantCulture, $", Content-Type: {ContentType}");
        text.Append(')');
        if (Body is not null) text.Append(CultureInfo.InvariantCulture, $" body ({Body.Length} bytes): {Escape(Body)}");
        return text.ToString();
    }

    /// <summary>The body as a C#-style string literal: valid UTF-8 shown as text, control characters and bytes that are not UTF-8 escaped.</summary>
    private static string Escape(byte[] body)
    {
        const int Shown = 4000;
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return "bytes " + Convert.ToHexString(body.AsSpan(0, Math.Min(body.Length, Shown)));
        }
        var escaped = new StringBuilder("\"");
        foreach (var c in text.Length > Shown ? text[..Shown] : text)
        {
            escaped.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                < ' ' or '\u007f' or '\ufeff' or (>= '\ud800' and <= '\udfff') => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        escaped.Append('"');
        if (text.Length > Shown) escaped.Append(CultureInfo.InvariantCulture, $" … ({text.Length} characters in all)");
        return escaped.ToString();
    }
}
